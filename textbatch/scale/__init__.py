"""Scale-out for large files: split into parts, predict the parts as a Batch array job, merge."""
