"""moto_server for IAM-enforced runs: the same server, with requests' signatures checked against the URI as sent.

moto (5.2) recomputes a request's SigV4 signature from the URL as its web framework decoded and re-encoded it, so a
signature over a key with "+", "(", "=", "&" or non-ASCII characters, or over a query value with "/" (every
ListObjectsV2 with a prefix the AWS SDK for JavaScript sends), never matches and the request fails with
SignatureDoesNotMatch once IAM is enforced. Here the check sees the raw request URI instead, as AWS does. And moto
asks for a permission named after the API call, so SQS's batch calls (DeleteMessageBatch, SendMessageBatch,
ChangeMessageVisibilityBatch) need permissions IAM does not have; AWS authorizes each with its single call's
permission (sqs:DeleteMessage, ...), and so does this server. GetQueueUrl names its queue by QueueName, which moto
does not read, so it authorized the call against "*" and no queue grant matched; here, as in AWS, the queue's ARN.
moto evaluates no s3:prefix condition (and reads a failed condition of an Allow as a Deny); here a ListObjects that
names a prefix is allowed only by an Allow of s3:ListBucket whose s3:prefix condition (StringLike, or
StringLikeIfExists) matches it or that has no condition, and one that names none by an unconditioned statement or an
IfExists one. Step Functions: a second StartExecution no longer fails (see clone_sharing_backend), and the
interpreter's service calls are made as the execution's role (see client_as_execution_role). Nothing else changes. Arguments are moto_server's (-H HOST -p PORT). IAM is enforced after POST /moto-api/reset-auth with
body "0" (docs/serverless.md).
"""

from fnmatch import fnmatchcase
from inspect import signature
from threading import Lock
from time import monotonic
from types import FunctionType, SimpleNamespace
from urllib.parse import parse_qs, urlparse

import boto3
from botocore.config import Config as BotoConfig
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.responses import BaseResponse, EmptyResult
from moto.iam.access_control import IAMPolicy, IAMRequestBase
from moto.server import main
from moto.settings import moto_server_port
from moto.sqs.responses import SQSResponse
from moto.stepfunctions.parser import models as sfn_models
from moto.stepfunctions.parser.asl.utils import boto_client as sfn_boto
from moto.stepfunctions.responses import StepFunctionResponse
from moto.sts.models import sts_backends

_setup_class = BaseResponse.setup_class
_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action


def setup_class(self, request, full_url, headers, use_raw_body=False):
    environ = getattr(request, "environ", None)
    self._raw_uri = environ.get("RAW_URI") if isinstance(environ, dict) else None
    return _setup_class(self, request, full_url, headers, use_raw_body)


def authorize(self, iam_request_cls, resource="*"):
    raw = getattr(self, "_raw_uri", None)
    if not raw:
        return _authorize(self, iam_request_cls, resource)
    decoded = self.uri
    self.uri = "http://raw" + (raw if raw.startswith("/") else "/" + raw)
    try:
        return _authorize(self, iam_request_cls, resource)
    finally:
        self.uri = decoded


# IAM has no permission for these calls: each batch is authorized as its entries' single call.
BATCH_PERMISSIONS = {
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
_init = IAMRequestBase.__init__


def init(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self._action = BATCH_PERMISSIONS.get(self._action, self._action)


_determine_resource = SQSResponse._determine_resource


def determine_resource(self):
    if self._get_action() != "GetQueueUrl":
        return _determine_resource(self)
    try:
        return self.sqs_backend.get_queue(self._get_param("QueueName")).queue_arn
    except Exception:
        return "*"


_check_action_permitted = IAMRequestBase.check_action_permitted


def as_list(value):
    return value if isinstance(value, list) else [value]


def allows_listing(statement, prefix):
    """Whether an Allow statement lets this ListObjects through: its action, then its s3:prefix condition."""
    if statement.get("Effect") != "Allow" or "Action" not in statement:
        return False
    if not any(fnmatchcase("s3:ListBucket", a) for a in as_list(statement["Action"])):
        return False
    conditions = statement.get("Condition") or {}
    if not conditions:
        return True
    for operator, keys in conditions.items():
        patterns = keys.get("s3:prefix")
        if patterns is None:
            continue
        if prefix is None:
            return operator.endswith("IfExists")
        if operator.startswith("StringLike") and any(fnmatchcase(prefix, p) for p in as_list(patterns)):
            return True
        if operator.startswith("StringEquals") and prefix in as_list(patterns):
            return True
        return False
    return True


def check_action_permitted(self, resource):
    _check_action_permitted(self, resource)
    if self._action != "s3:ListBucket":
        return
    prefix = parse_qs(urlparse(self._path).query).get("prefix", [None])[0]
    for policy in self._access_key.collect_policies():
        statements = IAMPolicy(policy)._policy_json["Statement"]
        if any(allows_listing(s, prefix) for s in as_list(statements)):
            return
    self._raise_access_denied()


# Step Functions: moto clones a state machine for each StartExecution with copy.deepcopy, and the clone drags in the
# whole backend (StateMachine.backend) and its own executions, which hold thread locks: from the second execution on
# every StartExecution fails with "cannot pickle '_thread.RLock' object" (500). Clone the rest; share those two.
_sfn_copy = sfn_models.copy


def clone_sharing_backend(value, memo=None):
    memo = {} if memo is None else memo
    for shared in ("backend", "executions"):
        held = getattr(value, shared, None)
        if held is not None:
            memo[id(held)] = held
    return _sfn_copy.deepcopy(value, memo)


sfn_models.copy = SimpleNamespace(deepcopy=clone_sharing_backend, copy=_sfn_copy.copy)


# Step Functions: moto's interpreter sends a state's service calls (SQS SendMessage, the ItemReader's S3 GetObject)
# over HTTP with the keys "ak"/"sk", which IAM knows nothing of: once IAM is enforced every task fails with
# InvalidClientTokenId. AWS makes those calls as the state machine's role; here too: a session of the execution's role
# (StateCredentials.role_arn) is created in moto's STS, so its policies are enforced on each call as AWS would.
_original_client_for = FunctionType(
    sfn_boto.boto_client_for.__code__, sfn_boto.boto_client_for.__globals__, "boto_client_for_original"
)


# One client per (role, service, region), made again before its session (900 s) lapses: a new client and session for
# every call cost ~15 ms of moto's one core each (and a new connection), on every callback task the interpreter sends.
_clients = {}
_clients_lock = Lock()
CLIENT_SECONDS = 600


def client_as_execution_role(region, service, state_credentials=None):
    role_arn = getattr(state_credentials, "role_arn", None)
    if not role_arn:
        return _original_client_for(region, service, state_credentials)
    key = (role_arn, service, region)
    with _clients_lock:
        made = _clients.get(key)
        if made is None or made[0] < monotonic():
            made = (monotonic() + CLIENT_SECONDS, _role_client(role_arn, region, service))
            _clients[key] = made
        return made[1]


def _role_client(role_arn, region, service):
    account = role_arn.split(":")[4]
    session = sts_backends[account]["aws"].assume_role(
        region_name=region,
        role_session_name="states",
        role_arn=role_arn,
        policy=None,
        duration=900,
        external_id=None,
    )
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=f"http://localhost:{moto_server_port()}",
        aws_access_key_id=session.access_key_id,
        aws_secret_access_key=session.secret_access_key,
        aws_session_token=session.session_token,
        config=BotoConfig(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1}),
    )


def _calls_client_as_execution_role(region, service, state_credentials=None):
    return _client_as_execution_role(region, service, state_credentials)  # noqa: F821 (the module's global below)


# Step Functions: moto authorizes SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat against "*", so a worker
# granted them on its state machine (as CDK's grantTaskResponse writes it) is refused. AWS authorizes them against the
# state machine whose task the token belongs to: here too, found by the running execution that holds the token.
TASK_ACTIONS = {"SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"}


def task_resource(self):
    if self._get_action() not in TASK_ACTIONS:
        return "*"
    token = self._get_param("taskToken")
    try:
        for machine in self.stepfunction_backend.state_machines:
            for execution in machine.executions:
                worker = getattr(execution, "exec_worker", None)
                pool = getattr(getattr(getattr(worker, "env", None), "callback_pool_manager", None), "_pool", {})
                if token in pool:
                    return machine.arn
    except Exception:
        pass
    return "*"


StepFunctionResponse._determine_resource = task_resource


# Step Functions: moto's SendTaskFailure handler passes the error on and drops the cause, so a task failed with one
# fails its execution with none, and `submit --wait` could not say why. AWS keeps it (TaskFailed, ExecutionFailed).
# Only the executing backend (the interpreter's) takes a cause; the plain one, without execution, ignores the call.
def send_task_failure(self):
    backend = self.stepfunction_backend
    takes_cause = "cause" in signature(backend.send_task_failure).parameters
    cause = {"cause": self._get_param("cause")} if takes_cause else {}
    backend.send_task_failure(self._get_param("taskToken"), error=self._get_param("error"), **cause)
    return EmptyResult()


StepFunctionResponse.send_task_failure = send_task_failure

# Every interpreter module imported the function by name: its code is replaced, so each of them calls the new one.
sfn_boto._client_as_execution_role = client_as_execution_role
sfn_boto.boto_client_for.__code__ = _calls_client_as_execution_role.__code__

IAMRequestBase.__init__ = init
IAMRequestBase.check_action_permitted = check_action_permitted
SQSResponse._determine_resource = determine_resource
BaseResponse.setup_class = setup_class
ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize

if __name__ == "__main__":
    main()
