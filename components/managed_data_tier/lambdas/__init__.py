"""Code the data tier deploys as AWS Lambda functions: each module stands alone (the Python
standard library and the boto3 of the Lambda runtime), so it is packaged as one file."""
