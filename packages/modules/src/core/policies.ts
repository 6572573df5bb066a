/** IAM policy documents shared by modules. Plain objects; `jsonDocument()` renders them. */

export interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: Record<string, string | string[]> | "*";
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Statement[];
}

export function policy(...statements: Statement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

/** Deny any S3 request over plain HTTP or TLS older than 1.2 (checkov CKV_AWS_70 family, trivy AWS-0132 siblings). */
export function denyInsecureTransport(bucketArn: string, ...extra: Statement[]): PolicyDocument {
  const resources = [bucketArn, `${bucketArn}/*`];
  return policy(
    ...extra,
    { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: resources, Condition: { Bool: { "aws:SecureTransport": "false" } } },
    { Sid: "DenyOutdatedTls", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: resources, Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } } },
  );
}

/** Trust policy letting one AWS service assume a role. */
export function assumeRoleBy(service: string): PolicyDocument {
  return policy({ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" });
}
