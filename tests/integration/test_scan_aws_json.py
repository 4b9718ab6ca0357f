#!/usr/bin/env python3
"""AWS JSON bodies whose keys do not name their values, as the AWS CLI
sends them: DynamoDB's typed attribute values ({"ssn": {"S": "…"}}) in
PutItem, BatchWriteItem and UpdateItem's expression values; SSM's
PutParameter ({"Name": "/prod/db/password", "Value": "…"}); tags
([{"Key": "…", "Value": "…"}]); SNS's and SQS's message attributes (the
query protocol's "P.Name=ssn&P.Value.StringValue=…"); S3's tagging (XML
<Key> and <Value> elements). The CLI (Debian's awscli) sends each
request to a local endpoint on 127.0.0.1 that keeps the body, and
`sovgw scan` reads the body with the request's content type.

Before, a value's context was its key alone ("S", "Value"): a bare SSN, a
birth date, a passport number or a password there was no finding. Each
case fails on that behaviour; the control requests (the same values under
other names) stay clean.

Needs awscli (scripts/deps.sh test)."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import Runner, TempDir, aws_cli_request, check, eq, scan_jsonl  # noqa: E402

PASSWORD = "Zq8#kLm2!vR9xT4p"


def aws_bin():
    for p in ("/usr/bin/aws",):
        if os.access(p, os.X_OK):
            return p
    return None


def scan(ct, body):
    """The body's findings, (type, masked excerpt), sorted."""
    _, fs = scan_jsonl("--content-type", ct, "-", input=body)
    return sorted((f["type"], f["excerpt"]) for f in fs)


def item(names):
    """A DynamoDB item: an SSN, a birth date, a passport number (a map's
    member) and two phone numbers' list, under names[0..3]."""
    ssn, dob, passport, ident = names
    return json.dumps({"id": {"S": "person-17"}, ssn: {"S": "536221847"}, dob: {"S": "1985-03-12"},
                       ident: {"M": {passport: {"S": "C01X00T47"}, "issued": {"N": "2019"}}}})


PII = [("DATE_OF_BIRTH", "19******12"), ("PASSPORT_NUMBER", "C0*****47"), ("US_SOCIAL_SECURITY_NUMBER", "53*****47")]


def main():
    r = Runner("scan_aws_json")
    if aws_bin() is None:
        print("not ok - the AWS CLI is missing (scripts/deps.sh test installs awscli)")
        return 1
    t = TempDir()
    pii = ("ssn", "date_of_birth", "passport", "documents")
    clean = ("order_id", "shipped_on", "booking_code", "details")

    def put_item():
        # case 1: PutItem: every typed value under its attribute's name,
        # a map's member under its own; the control item stays clean
        ct, body = aws_cli_request(t, "dynamodb", "put-item", "--table-name", "people", "--item", item(pii))
        check(ct.startswith("application/x-amz-json-1.0") and b'{"S":' in body.replace(b" ", b""),
              f"a DynamoDB request ({ct}, {body[:120]!r})")
        eq(scan(ct, body), PII, "PutItem")
        ct, body = aws_cli_request(t, "dynamodb", "put-item", "--table-name", "orders", "--item", item(clean))
        eq(scan(ct, body), [], "PutItem, the control item")
    r.run("DynamoDB PutItem: typed values under their attribute's name", put_item)

    def batch_and_update():
        # case 2: BatchWriteItem (items in a list of requests) and
        # UpdateItem's expression values (":dob"), list elements too
        req = {"people": [{"PutRequest": {"Item": json.loads(item(pii))}}]}
        ct, body = aws_cli_request(t, "dynamodb", "batch-write-item", "--request-items", json.dumps(req))
        eq(scan(ct, body), PII, "BatchWriteItem")
        vals = {":dob": {"S": "1990-11-02"}, ":ssns": {"L": [{"S": "536221848"}, {"S": "536221849"}]}}
        ct, body = aws_cli_request(t, "dynamodb", "update-item", "--table-name", "people", "--key", '{"id":{"S":"p1"}}',
                        "--update-expression", "SET dob = :dob, ssns = :ssns",
                        "--expression-attribute-values", json.dumps(vals))
        eq(scan(ct, body), [("DATE_OF_BIRTH", "19******02"), ("US_SOCIAL_SECURITY_NUMBER", "53*****48"),
                            ("US_SOCIAL_SECURITY_NUMBER", "53*****49")], "UpdateItem's expression values")
    r.run("DynamoDB BatchWriteItem and UpdateItem", batch_and_update)

    def ssm_and_tags():
        # case 3: SSM PutParameter: the parameter's name names its value (a
        # password); tags: a tag's key names its value; the controls are
        # clean
        ct, body = aws_cli_request(t, "ssm", "put-parameter", "--name", "/prod/db/password", "--value", PASSWORD,
                        "--type", "SecureString")
        check(b'"Value"' in body, f"a PutParameter request ({body[:160]!r})")
        found = scan(ct, body)
        eq([k for k, _ in found], ["GENERIC_SECRET"], f"PutParameter: the password ({found})")
        ct, body = aws_cli_request(t, "ssm", "put-parameter", "--name", "/prod/app/theme", "--value", "dark-blue-2024",
                        "--type", "String")
        eq(scan(ct, body), [], "PutParameter, the control")
        ct, body = aws_cli_request(t, "ssm", "add-tags-to-resource", "--resource-type", "Parameter", "--resource-id", "p",
                        "--tags", "Key=owner-ssn,Value=536221847", "Key=cost-center,Value=123456789")
        eq(scan(ct, body), [("US_SOCIAL_SECURITY_NUMBER", "53*****47")], "tags: the SSN under its tag's key")
    r.run("SSM PutParameter and tags: a name names its value", ssm_and_tags)

    def message_attributes():
        # case 4: message attributes: SNS Publish (the query protocol,
        # form-encoded: "MessageAttributes.entry.1.Name=ssn&…Value.
        # StringValue=…") and SQS SendMessage (query or JSON, as this CLI
        # sends it): the value under the attribute's name
        attrs = json.dumps({"ssn": {"DataType": "String", "StringValue": "536221847"},
                            "batch": {"DataType": "String", "StringValue": "123456789"}})
        ct, body = aws_cli_request(t, "sns", "publish", "--topic-arn", "arn:aws:sns:eu-central-1:123456789012:t",
                        "--message", "hello", "--message-attributes", attrs)
        check(ct.startswith("application/x-www-form-urlencoded"), f"SNS's query protocol ({ct})")
        eq(scan(ct, body), [("US_SOCIAL_SECURITY_NUMBER", "53*****47")], "SNS Publish's message attributes")
        ct, body = aws_cli_request(t, "sqs", "send-message", "--queue-url", "https://sqs.eu-central-1.amazonaws.com/1/q",
                        "--message-body", "hello", "--message-attributes", attrs)
        eq(scan(ct, body), [("US_SOCIAL_SECURITY_NUMBER", "53*****47")], f"SQS SendMessage's ({ct})")
    r.run("SNS and SQS message attributes", message_attributes)

    def s3_tagging():
        # case 5: S3's tagging is XML, a tag's Key and Value as two
        # elements: the Value under its Key's text; the control is clean
        ct, body = aws_cli_request(t, "s3api", "put-object-tagging", "--bucket", "lake", "--key", "people.csv",
                        "--tagging", "TagSet=[{Key=owner-ssn,Value=536221847},{Key=batch,Value=123456789}]")
        check(b"<Tagging" in body and b"<Key>owner-ssn</Key>" in body, f"S3's tagging XML ({ct}, {body[:200]!r})")
        eq(scan(ct or "application/xml", body), [("US_SOCIAL_SECURITY_NUMBER", "53*****47")],
           "PutObjectTagging: the SSN under its tag's key")
    r.run("S3 PutObjectTagging (XML Key and Value elements)", s3_tagging)
    t.cleanup()
    r.done()


if __name__ == "__main__":
    sys.exit(main())
