import { describe, expect, it } from "vitest";
import { todo } from "@caja/dsl";
import { ALB, ECS_CLUSTER, ECS_SERVICE, RDS_POSTGRES } from "../../packages/modules/src/contracts.js";
import { observability } from "../../packages/modules/src/observability.js";
import { validateRoot } from "../../packages/modules/src/aws/validate.js";
import { baseConfig, compileWith, configWith, resources, rootJson, testJson } from "../helpers.js";
import { phasesFor, standIn, terraformCheck } from "../modules-harness.js";

const standIns = [
  standIn(ALB, {
    alb_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/caja-dev-alb/50dc6c495c0c9188",
    alb_arn_suffix: "app/caja-dev-alb/50dc6c495c0c9188",
    alb_dns_name: "caja-dev-alb-1234567890.us-east-1.elb.amazonaws.com",
    alb_zone_id: "Z35SXDOTRQ7X7K",
    target_group_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/caja-dev-api/73e2d6bc24d8a067",
    target_group_arn_suffix: "targetgroup/caja-dev-api/73e2d6bc24d8a067",
    https_listener_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/caja-dev-alb/50dc6c495c0c9188/f2f7dc8efc522ab2",
  }),
  standIn(ECS_CLUSTER, {
    cluster_name: "caja-dev-cluster",
    cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/caja-dev-cluster",
    app_log_group_name: "/ecs/caja-dev-api",
  }),
  standIn(ECS_SERVICE, {
    service_name: "caja-dev-api",
    task_definition_arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/caja-dev-api:1",
    task_execution_role_arn: "arn:aws:iam::123456789012:role/caja-dev-task-execution",
    task_role_arn: "arn:aws:iam::123456789012:role/caja-dev-task",
  }),
  standIn(RDS_POSTGRES, {
    db_instance_identifier: "caja-dev-postgres",
    db_address: "caja-dev-postgres.abcdefghijkl.us-east-1.rds.amazonaws.com",
    db_port: 5432,
    db_name: "caja",
    db_master_secret_arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d-AbCdEf",
  }),
];
const phases = phasesFor([observability], standIns, { number: 8, dir: "80-observability" });
const DEV = "dev/80-observability";
const PROD = "prod/80-observability";
const compile = (config: unknown = baseConfig()) => compileWith(config, { phases });
const alarms = (c: ReturnType<typeof compile>, root = DEV) => resources(c, root, "aws_cloudwatch_metric_alarm");
const remote = (output: string) => `\${data.terraform_remote_state.standins_env.outputs.${output}}`;
const TOPIC = "${aws_sns_topic.alarms.arn}";

describe("observability module", () => {
  it("creates the five plan alarms with the plan's thresholds, periods and statistics", () => {
    const a = alarms(compile());
    expect(Object.keys(a).sort()).toEqual(["alb_5xx", "ecs_cpu", "ecs_memory", "rds_cpu", "rds_free_storage"]);
    expect(a.alb_5xx).toMatchObject({
      alarm_name: "caja-dev-alb-5xx",
      namespace: "AWS/ApplicationELB",
      metric_name: "HTTPCode_ELB_5XX_Count",
      statistic: "Sum",
      comparison_operator: "GreaterThanThreshold",
      threshold: 5,
      period: 300,
      evaluation_periods: 1,
      dimensions: { LoadBalancer: remote("alb_arn_suffix") },
    });
    for (const [label, metric] of [["ecs_cpu", "CPUUtilization"], ["ecs_memory", "MemoryUtilization"]] as const) {
      expect(a[label]).toMatchObject({
        namespace: "AWS/ECS",
        metric_name: metric,
        statistic: "Average",
        comparison_operator: "GreaterThanThreshold",
        threshold: 80,
        period: 300,
        dimensions: { ClusterName: remote("cluster_name"), ServiceName: remote("service_name") },
      });
    }
    expect(a.rds_cpu).toMatchObject({
      namespace: "AWS/RDS",
      metric_name: "CPUUtilization",
      statistic: "Average",
      comparison_operator: "GreaterThanThreshold",
      threshold: 80,
      period: 600,
      dimensions: { DBInstanceIdentifier: remote("db_instance_identifier") },
    });
    expect(a.rds_free_storage).toMatchObject({
      namespace: "AWS/RDS",
      metric_name: "FreeStorageSpace",
      statistic: "Minimum",
      comparison_operator: "LessThanThreshold",
      dimensions: { DBInstanceIdentifier: remote("db_instance_identifier") },
    });
  });

  it("notifies the topic on ALARM and OK, with actions enabled and missing data not breaching", () => {
    for (const alarm of Object.values(alarms(compile()))) {
      expect(alarm.alarm_actions).toEqual([TOPIC]);
      expect(alarm.ok_actions).toEqual([TOPIC]);
      expect(alarm.actions_enabled).toBe(true);
      expect(alarm.treat_missing_data).toBe("notBreaching");
    }
  });

  it("sets the free-storage threshold to 10% of the allocated storage, in bytes, per tier", () => {
    const c = compile();
    expect(alarms(c).rds_free_storage.threshold).toBe(2 * 1024 ** 3); // dev: 20 GiB
    expect(alarms(c, PROD).rds_free_storage.threshold).toBe(5 * 1024 ** 3); // prod: 50 GiB
  });

  it("computes the free-storage threshold in HCL from db_allocated_storage when the size is a TODO", () => {
    const c = compile(configWith({ environments: { dev: { db: { allocatedStorage: todo("sizing pending") } }, staging: {}, prod: {} } }));
    expect(alarms(c).rds_free_storage.threshold).toBe("${floor(var.db_allocated_storage * 1073741824 * 10 / 100)}");
    const variable = rootJson(c, DEV).variable.db_allocated_storage;
    expect(variable.type).toBe("number");
    expect(variable.default).toBeUndefined();
    expect(testJson(c, DEV).variables.db_allocated_storage).toBe(20);
    expect(rootJson(c, PROD).variable).toBeUndefined();
  });

  it("applies an environment's threshold override only to that environment", () => {
    const c = compile(
      configWith({ environments: { dev: {}, staging: {}, prod: { alarms: { ecsCpu: { threshold: 70, periodSeconds: 60, evaluationPeriods: 3 } } } } }),
    );
    expect(alarms(c, PROD).ecs_cpu).toMatchObject({ threshold: 70, period: 60, evaluation_periods: 3 });
    expect(alarms(c).ecs_cpu).toMatchObject({ threshold: 80, period: 300, evaluation_periods: 1 });
  });

  it("leaves out a disabled alarm, its name and its producer's read", () => {
    const c = compile(configWith({ environments: { dev: { alarms: { rdsCpu: { enabled: false }, rdsFreeStoragePercent: { enabled: false } } }, staging: {}, prod: {} } }));
    expect(Object.keys(alarms(c)).sort()).toEqual(["alb_5xx", "ecs_cpu", "ecs_memory"]);
    expect(rootJson(c, DEV).output.alarm_names.value).toEqual(["caja-dev-alb-5xx", "caja-dev-ecs-cpu", "caja-dev-ecs-memory"]);
    const reads = testJson(c, DEV).override_data[0].values.outputs;
    expect(reads).not.toHaveProperty("db_instance_identifier");
    expect(Object.keys(alarms(c, PROD))).toContain("rds_cpu");
  });

  it("encrypts the topic with a rotating customer-managed key whose policy admits CloudWatch alarms", () => {
    const c = compile();
    const key = resources(c, DEV, "aws_kms_key").alarms;
    expect(key.enable_key_rotation).toBe(true);
    expect(key.deletion_window_in_days).toBe(30);
    const statements = JSON.parse(key.policy).Statement as any[];
    const root = statements.find((s) => s.Principal.AWS);
    expect(root).toMatchObject({ Effect: "Allow", Action: "kms:*", Resource: "*", Principal: { AWS: "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" } });
    for (const service of ["cloudwatch.amazonaws.com", "sns.amazonaws.com"]) {
      const s = statements.find((st) => st.Principal.Service === service);
      expect(s, service).toMatchObject({ Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey*"] });
      expect(s.Condition.StringEquals["aws:SourceAccount"]).toBe("${data.aws_caller_identity.current.account_id}");
    }
    expect(resources(c, DEV, "aws_sns_topic").alarms).toMatchObject({ name: "caja-dev-alarms", kms_master_key_id: "${aws_kms_key.alarms.arn}" });
    expect(resources(c, DEV, "aws_kms_alias").alarms).toEqual({ name: "alias/caja-dev-alarms", target_key_id: "${aws_kms_key.alarms.key_id}" });
  });

  it("writes the account id into the key policy when the config fixes it", () => {
    const c = compile(configWith({ accountId: "210987654321" }));
    expect(resources(c, DEV, "aws_kms_key").alarms.policy).toContain("arn:aws:iam::210987654321:root");
  });

  it("lets only CloudWatch from this account publish to the topic", () => {
    const topicPolicy = resources(compile(), DEV, "aws_sns_topic_policy").alarms;
    expect(topicPolicy.arn).toBe(TOPIC);
    expect(JSON.parse(topicPolicy.policy).Statement).toEqual([
      {
        Sid: "CloudWatchAlarmsPublish",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: "sns:Publish",
        Resource: TOPIC,
        Condition: { StringEquals: { "aws:SourceAccount": "${data.aws_caller_identity.current.account_id}" } },
      },
    ]);
  });

  it("subscribes each configured e-mail address", () => {
    const sub = resources(compile(), DEV, "aws_sns_topic_subscription").email;
    expect(sub).toMatchObject({ protocol: "email", topic_arn: TOPIC, endpoint: "${each.value}", for_each: { "oncall@dbash.dev": "oncall@dbash.dev" } });
  });

  it("turns TODO e-mails into a required alarm_emails variable that the subscriptions iterate", () => {
    const c = compile(configWith({ defaults: { alarms: { emails: todo("on-call list not decided") } } }));
    const variable = rootJson(c, DEV).variable.alarm_emails;
    expect(variable).toMatchObject({ type: "list(string)", description: "TODO: on-call list not decided" });
    expect(variable).not.toHaveProperty("default");
    expect(variable.validation[0].condition).toContain("regex(");
    expect(resources(c, DEV, "aws_sns_topic_subscription").email.for_each).toBe("${toset(var.alarm_emails)}");
    expect(testJson(c, DEV).variables.alarm_emails).toEqual(["oncall@example.com"]);
    expect(c.todos.find((t) => t.path === "defaults.alarms.emails")?.uses.map((u) => u.root)).toEqual([DEV, "staging/80-observability", PROD]);
  });

  it("creates no subscription when the e-mail list is empty", () => {
    const c = compile(configWith({ defaults: { alarms: { emails: [] } } }));
    expect(resources(c, DEV, "aws_sns_topic_subscription")).toEqual({});
  });

  it("outputs the topic, the key and the alarm names, with realistic examples", () => {
    const c = compile();
    const out = rootJson(c, DEV).output;
    expect(out.alarm_topic_arn.value).toBe(TOPIC);
    expect(out.alarm_kms_key_arn.value).toBe("${aws_kms_key.alarms.arn}");
    expect(out.alarm_names.value).toEqual(["caja-dev-alb-5xx", "caja-dev-ecs-cpu", "caja-dev-ecs-memory", "caja-dev-rds-free-storage", "caja-dev-rds-cpu"]);
    const spec = c.plan.roots.find((r) => r.id === DEV)!.builder.outputs;
    expect(spec.get("alarm_topic_arn")!.example).toMatch(/^arn:aws:sns:us-east-1:\d{12}:caja-dev-alarms$/);
    expect(spec.get("alarm_kms_key_arn")!.example).toMatch(/^arn:aws:kms:us-east-1:\d{12}:key\/[0-9a-f-]{36}$/);
  });

  it("matches the provider schema", () => {
    const c = compile(configWith({ defaults: { alarms: { emails: todo("x") } }, environments: { dev: { db: { allocatedStorage: todo("y") } }, prod: {} } }));
    expect(validateRoot(rootJson(c, DEV))).toEqual([]);
    expect(validateRoot(rootJson(c, PROD))).toEqual([]);
  });

  it("passes terraform validate and the mock apply for dev and prod", { timeout: 300_000 }, async () => {
    const c = compile();
    for (const id of [DEV, PROD]) {
      const result = await terraformCheck(c, id);
      if (!result) return;
      expect(result.detail, id).toContain("1 run(s) passed, 0 failed");
      expect(result.ok, `${id}: ${result.detail}`).toBe(true);
    }
  });

  it("passes terraform with TODO e-mails and a TODO storage size", { timeout: 300_000 }, async () => {
    const c = compile(configWith({ defaults: { alarms: { emails: todo("x") } }, environments: { dev: { db: { allocatedStorage: todo("y") } } } }));
    const result = await terraformCheck(c, DEV);
    if (!result) return;
    expect(result.ok, result.detail).toBe(true);
  });
});
