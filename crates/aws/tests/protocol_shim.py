"""A protocol translator in front of moto_server for the two calls moto 5.1.22 cannot answer
for the Rust SDK, so that their data still comes from the emulator:

- CloudWatch `DescribeAlarms`: the Rust SDK speaks Smithy RPC v2 CBOR to CloudWatch; moto only
  speaks the query protocol (XML). The shim asks moto with the query protocol and answers the
  documented CBOR shape (`MetricAlarms`, `CompositeAlarms`, `NextToken`).
- Lambda `ListFunctionUrlConfigs` (`GET /2021-10-31/functions/NAME/urls`): moto has no listing
  but answers `GetFunctionUrlConfig` (`.../url`); the shim wraps that answer (or a 404) in the
  list shape (`FunctionUrlConfigs`, `NextMarker`).

For four calls moto has no backend for at all, the shim answers the documented shapes itself,
derived from moto's data where there is some:

- S3 `GetBucketPolicyStatus` (`GET /BUCKET?policyStatus`): `IsPublic` from the bucket policy moto
  holds (an `Allow` to principal `*` without a condition), `NoSuchBucketPolicy` without one;
- EC2 `GetEbsDefaultKmsKeyId`: AWS's documented default, `alias/aws/ebs`;
- Access Analyzer `ListAnalyzers` (`GET /analyzer`): one active account analyzer, named
  `rampart-shim` (AWS's shape, fixed content);
- Security Hub `DescribeHub` (`GET /accounts`): a subscribed hub (fixed content).

Every other request is relayed to moto unchanged. Usage:
    protocol_shim.py UPSTREAM_URL   (prints the port it listens on, on 127.0.0.1)
"""
import datetime
import http.client
import http.server
import json
import re
import socketserver
import struct
import sys
import urllib.parse
import xml.etree.ElementTree as ET

UPSTREAM = urllib.parse.urlsplit(sys.argv[1])


# --- a minimal CBOR encoder (RFC 8949): what the DescribeAlarms answer needs ------------------
def _head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | info]) + struct.pack(fmt, n)
    raise ValueError("integer too large")


class Timestamp(float):
    """Seconds since the epoch, encoded as tag 1 (the Smithy CBOR timestamp)."""


def cbor(v):
    if v is None:
        return b"\xf6"
    if v is True:
        return b"\xf5"
    if v is False:
        return b"\xf4"
    if isinstance(v, Timestamp):
        return _head(6, 1) + b"\xfb" + struct.pack(">d", float(v))
    if isinstance(v, int):
        return _head(0, v) if v >= 0 else _head(1, -1 - v)
    if isinstance(v, float):
        return b"\xfb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        return _head(3, len(b)) + b
    if isinstance(v, (list, tuple)):
        return _head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        return _head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(type(v))


# --- CloudWatch: query-protocol XML from moto to the CBOR shape -------------------------------
NS = "{http://monitoring.amazonaws.com/doc/2010-08-01/}"
INTS = {"Period", "EvaluationPeriods", "DatapointsToAlarm"}
FLOATS = {"Threshold"}
BOOLS = {"ActionsEnabled"}
TIMES = {"StateUpdatedTimestamp", "AlarmConfigurationUpdatedTimestamp", "StateTransitionedTimestamp"}
LISTS = {"AlarmActions", "OKActions", "InsufficientDataActions", "Dimensions", "Metrics"}


def _time(text):
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return Timestamp(t.timestamp())


def _value(el):
    name = el.tag.replace(NS, "")
    if name in LISTS:
        return [_value(m) if len(m) else (m.text or "") for m in el]
    if len(el):
        return {c.tag.replace(NS, ""): _value(c) for c in el}
    text = el.text or ""
    if name in INTS:
        return int(float(text))
    if name in FLOATS:
        return float(text)
    if name in BOOLS:
        return text.strip().lower() == "true"
    if name in TIMES:
        return _time(text)
    return text


def _member_value(m):
    return {c.tag.replace(NS, ""): _value(c) for c in m}


def describe_alarms(headers):
    body = urllib.parse.urlencode({"Action": "DescribeAlarms", "Version": "2010-08-01"})
    status, _, data = upstream("POST", "/", body.encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": headers.get("Authorization", ""),
        "X-Amz-Date": headers.get("X-Amz-Date", ""),
    })
    if status != 200:
        return status, {"__type": "InternalFailure", "message": data.decode(errors="replace")[:300]}
    root = ET.fromstring(data)
    result = root.find(f"{NS}DescribeAlarmsResult")
    metric = [_member_value(m) for m in result.find(f"{NS}MetricAlarms")] if result is not None else []
    composite = result.find(f"{NS}CompositeAlarms") if result is not None else None
    composite = [_member_value(m) for m in composite] if composite is not None else []
    return 200, {"MetricAlarms": metric, "CompositeAlarms": composite}


# --- Lambda: GetFunctionUrlConfig wrapped as ListFunctionUrlConfigs ---------------------------
URLS = re.compile(r"^/(?P<version>[^/]+)/functions/(?P<name>[^/?]+)/urls$")


def list_function_url_configs(version, name, headers):
    status, _, data = upstream("GET", f"/{version}/functions/{name}/url", None, {
        "Authorization": headers.get("Authorization", ""),
        "X-Amz-Date": headers.get("X-Amz-Date", ""),
    })
    if status == 404:
        return 200, {"FunctionUrlConfigs": []}
    # moto 5.1.22 answers GetFunctionUrlConfig with 201.
    if status not in (200, 201):
        return status, json.loads(data or b"{}")
    return 200, {"FunctionUrlConfigs": [json.loads(data)]}


# --- calls moto has no backend for ------------------------------------------------------------
def service_of(headers):
    """The signing service from `Authorization: AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/...`."""
    m = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/", headers.get("Authorization", ""))
    return (m.group(1), m.group(2)) if m else ("us-east-1", "")


def policy_status(bucket, headers):
    status, _, data = upstream("GET", f"/{bucket}?policy", None, {
        "Authorization": headers.get("Authorization", ""),
        "X-Amz-Date": headers.get("X-Amz-Date", ""),
        "X-Amz-Content-Sha256": headers.get("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
    })
    if status != 200:
        return status, data  # NoSuchBucketPolicy (moto's XML error) passes through
    policy = json.loads(data)
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]

    def anyone(p):
        if p == "*":
            return True
        if isinstance(p, dict):
            aws = p.get("AWS", [])
            return aws == "*" or (isinstance(aws, list) and "*" in aws)
        return False

    public = any(st.get("Effect") == "Allow" and anyone(st.get("Principal")) and not st.get("Condition")
                 for st in statements)
    xml = ('<?xml version="1.0" encoding="UTF-8"?><PolicyStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
           f"<IsPublic>{'true' if public else 'false'}</IsPublic></PolicyStatus>")
    return 200, xml.encode()


def upstream(method, path, body, headers):
    conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        conn.close()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self, status, body, content_type, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        path = urllib.parse.urlsplit(self.path).path
        if self.headers.get("smithy-protocol") == "rpc-v2-cbor" and path.endswith("/operation/DescribeAlarms"):
            status, answer = describe_alarms(self.headers)
            return self._reply(status, cbor(answer), "application/cbor", [("smithy-protocol", "rpc-v2-cbor")])
        region, service = service_of(self.headers)
        query = urllib.parse.urlsplit(self.path).query
        if service == "s3" and self.command == "GET" and "policyStatus" in query.split("&"):
            status, data = policy_status(path.strip("/").split("/")[0], self.headers)
            return self._reply(status, data, "application/xml")
        if service == "ec2" and body and b"Action=GetEbsDefaultKmsKeyId" in body:
            xml = ('<?xml version="1.0" encoding="UTF-8"?><GetEbsDefaultKmsKeyIdResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                   "<requestId>shim</requestId><kmsKeyId>alias/aws/ebs</kmsKeyId></GetEbsDefaultKmsKeyIdResponse>")
            return self._reply(200, xml.encode(), "text/xml")
        if service == "access-analyzer" and self.command == "GET" and path == "/analyzer":
            answer = {"analyzers": [{
                "arn": f"arn:aws:access-analyzer:{region}:123456789012:analyzer/rampart-shim",
                "name": "rampart-shim", "type": "ACCOUNT", "status": "ACTIVE",
                "createdAt": "2026-01-01T00:00:00Z"}]}
            return self._reply(200, json.dumps(answer).encode(), "application/json")
        if service == "securityhub" and self.command == "GET" and path == "/accounts":
            answer = {"HubArn": f"arn:aws:securityhub:{region}:123456789012:hub/default",
                      "SubscribedAt": "2026-01-01T00:00:00.000Z", "AutoEnableControls": True}
            return self._reply(200, json.dumps(answer).encode(), "application/json")
        m = URLS.match(path)
        if self.command == "GET" and m:
            status, answer = list_function_url_configs(m["version"], m["name"], self.headers)
            return self._reply(status, json.dumps(answer).encode(), "application/json")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        status, resp_headers, data = upstream(self.command, self.path, body, headers)
        skip = {"content-length", "transfer-encoding", "connection", "content-type"}
        ctype = next((v for k, v in resp_headers if k.lower() == "content-type"), "application/octet-stream")
        self._reply(status, data, ctype, [(k, v) for k, v in resp_headers if k.lower() not in skip])

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
