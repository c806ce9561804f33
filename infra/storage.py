"""The buckets: predict (input), results, training data, model artifacts and config.

All encrypted, TLS-only, public access blocked, with server access logs in a bucket of their
own. The predict bucket is versioned so that each upload of a key is a distinct revision (the
trigger submits one job per revision); the models bucket is versioned to keep every artifact.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct
from textbatch_contract.jobs import PARTS_DIR, PARTS_EXPIRE_DAYS

from infra.nag import acknowledge, skip_checkov


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, prefix: str, retain: bool) -> None:
        super().__init__(scope, construct_id)
        self._prefix = prefix
        self._retain = retain
        self.access_logs = self._bucket("AccessLogsBucket", "access-logs", logs=False)
        acknowledge(
            self.access_logs,
            "AwsSolutions-S1",
            "This bucket is the server access log target; logging it into itself would loop.",
        )
        skip_checkov(
            self.access_logs,
            "CKV_AWS_18",
            "This bucket is the server access log target; logging it into itself would loop.",
        )
        skip_checkov(
            self.access_logs,
            "CKV_AWS_21",
            "S3's log delivery writes each log object once; versions would add nothing.",
        )
        self.predict = self._bucket("PredictBucket", "predict", versioned=True)
        # versioned: a result overwritten by a newer revision's (or by mistake) can be recovered
        self.results = self._bucket("ResultsBucket", "results", versioned=True)
        # a large file's parts are removed by its merge; a failed file's stay for a look
        self.results.add_lifecycle_rule(
            id="ExpireParts",
            prefix=f"{PARTS_DIR}/",
            expiration=Duration.days(PARTS_EXPIRE_DAYS),
            noncurrent_version_expiration=Duration.days(1),
            expired_object_delete_marker=False,
        )
        # versioned: a model's manifest can name the exact version of the data it learned from
        self.training = self._bucket("TrainingBucket", "training", versioned=True)
        self.models = self._bucket("ModelsBucket", "models", versioned=True)
        self.config = self._bucket("ConfigBucket", "config", versioned=True)

    def _bucket(
        self, construct_id: str, role: str, *, versioned: bool = False, logs: bool = True
    ) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            bucket_name=f"{self._prefix}-{role}-{Aws.ACCOUNT_ID}-{Aws.REGION}",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=versioned,
            server_access_logs_bucket=self.access_logs if logs else None,
            server_access_logs_prefix=f"{role}/" if logs else None,
            lifecycle_rules=[
                s3.LifecycleRule(
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                    noncurrent_version_expiration=Duration.days(90) if versioned else None,
                )
            ],
            removal_policy=RemovalPolicy.RETAIN if self._retain else RemovalPolicy.DESTROY,
            auto_delete_objects=not self._retain,
        )
