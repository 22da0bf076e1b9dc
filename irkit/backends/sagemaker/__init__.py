"""The SageMaker backend: the only place that imports boto3 or sagemaker."""
