"""The CDK app's constructs and stack: one module per concern, configured per stage."""
