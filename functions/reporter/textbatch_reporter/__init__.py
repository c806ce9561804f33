"""The failure reporter: a Lambda that gives a file its error report when Batch stopped the
file's job before the job could write one."""
