"""What a file's review routing and shift warning are made of: the output's columns, the review
file, the summary's blocks, the log event the stack's metric and alarm count, and where a file
names the column with the submitter's category. The predict and merge jobs write them; the
operations commands, the reporter's views and the stack's metric filter read them.

A predicted row is `review` = `yes` when a person should look at it: `low_confidence` (its
confidence is below the threshold its model validated for its predicted class) or `disagrees`
(the submitter's category, in the compare column, differs from a confident prediction).
"""

from __future__ import annotations

from textbatch_contract.outputs import REVIEW_SUFFIX as REVIEW_SUFFIX

# the output's columns, after the probabilities (and a family's own columns)
REVIEW, REASON, WHY = "review", "review_reason", "why"
YES, NO = "yes", "no"
LOW_CONFIDENCE, DISAGREES = "low_confidence", "disagrees"
REASONS = (DISAGREES, LOW_CONFIDENCE)  # the review file's order: disagreements first
# The review file (OutputPlan.review: `<stem>_review.csv` beside the output), its columns:
# ROW (the row's number among the input's data rows, 1 = the first), REASON, the prediction,
# its confidence, WHY (when the output has it), then every input column.
ROW = "row"

# Where a file's compare column is named, first found wins: the predict command's
# --compare-column; the uploaded object's user metadata (`aws s3 cp --metadata
# compare-column=category`, i.e. the header x-amz-meta-compare-column); the stage setting
# compare_column, set on the predict job definitions as this variable.
COMPARE_METADATA = "compare-column"
COMPARE_COLUMN_ENV = "TEXTBATCH_COMPARE_COLUMN"

# the summary's blocks
SUMMARY_REVIEW, SUMMARY_SHIFT = "review", "shift"
# the shift warning's levels, in order; the job logs SHIFT_EVENT with LEVEL for each file
LEVELS = ("low", "medium", "high")
HIGH = "high"
SHIFT_EVENT, LEVEL = "shift", "level"
REVIEW_EVENT = "review"  # the file's review line: rows auto-accepted, to review, by reason
ROWS_TO_REVIEW = "rows_to_review"  # its count of rows to review (the stack's RowsToReview)
