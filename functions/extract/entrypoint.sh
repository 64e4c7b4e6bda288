#!/bin/sh
# Lambda starts containers with AWS_LAMBDA_RUNTIME_API set and the handler as the command; anywhere else (AWS Batch,
# a laptop) the command runs as it is. Lambda has no GPU, so the CPU provider is forced there.
set -eu
if [ -n "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  export CNN_CODES_EXECUTION_PROVIDER=cpu
  exec node /app/node_modules/aws-lambda-ric/bin/index.mjs "$@"
fi
exec "$@"
