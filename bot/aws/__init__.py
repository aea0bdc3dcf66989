"""The AWS adapter: role chaining, console links, revocation and policy templates (the only boto3 code)."""
