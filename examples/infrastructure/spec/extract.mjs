#!/usr/bin/env node
// extract.mjs writes ../testdata/resource-spec.json: the slice of the AWS
// CloudFormation resource specification that templates_test.go validates the
// templates in examples/infrastructure/ against.
//
// The source is db.json.gz of the npm package @aws-cdk/aws-service-spec, the
// only offline specification that knows the AWS::BedrockAgentCore::* types
// with all their nested property types. Usage (regenerate.sh does all of it):
//
//   node extract.mjs <dir of @aws-cdk/aws-service-spec> [output.json]
//
// The output holds every resource type used by the templates plus the ones in
// EXTRA_TYPES, each with its properties, its nested property types and its
// Fn::GetAtt attributes. Keys and lists are sorted, so the same package
// version always gives the same bytes.

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const templatesDir = join(here, '..');

// Types that templates are likely to use next, kept in the spec so adding one
// to a template does not require regenerating it.
const EXTRA_TYPES = [
  'AWS::BedrockAgentCore::GatewayTarget',
  'AWS::BedrockAgentCore::Gateway',
  'AWS::ApplicationAutoScaling::ScalableTarget',
  'AWS::ApplicationAutoScaling::ScalingPolicy',
  'AWS::CertificateManager::Certificate',
  'AWS::CloudFormation::StackSet',
  'AWS::Cognito::UserPool',
  'AWS::Cognito::UserPoolClient',
  'AWS::Cognito::UserPoolDomain',
  'AWS::Cognito::UserPoolGroup',
  'AWS::Cognito::UserPoolResourceServer',
  'AWS::Cognito::UserPoolUser',
  'AWS::EC2::SecurityGroup',
  'AWS::EC2::SecurityGroupEgress',
  'AWS::EC2::SecurityGroupIngress',
  'AWS::ECS::Cluster',
  'AWS::ECS::Service',
  'AWS::ECS::TaskDefinition',
  'AWS::ElasticLoadBalancingV2::Listener',
  'AWS::ElasticLoadBalancingV2::ListenerRule',
  'AWS::ElasticLoadBalancingV2::LoadBalancer',
  'AWS::ElasticLoadBalancingV2::TargetGroup',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::Policy',
  'AWS::IAM::Role',
  'AWS::KMS::Key',
  'AWS::Lambda::Alias',
  'AWS::Lambda::Function',
  'AWS::Lambda::Permission',
  'AWS::Lambda::Version',
  'AWS::Logs::LogGroup',
  'AWS::S3::Bucket',
  'AWS::S3::BucketPolicy',
  'AWS::SSM::Parameter',
  'AWS::SecretsManager::Secret',
];

function main(argv) {
  if (argv.length < 1 || argv.length > 2) {
    throw new Error('usage: node extract.mjs <dir of @aws-cdk/aws-service-spec> [output.json]');
  }
  const pkgDir = argv[0];
  const out = argv[1] ?? join(templatesDir, 'testdata', 'resource-spec.json');
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const db = JSON.parse(gunzipSync(readFileSync(join(pkgDir, 'db.json.gz'))));

  const resources = new Map(db.schema.resource.entities.map((r) => [r.cloudFormationType, r]));
  const typeDefs = new Map(db.schema.typeDefinition.entities.map((t) => [t.$id, t]));

  const wanted = [...new Set([...EXTRA_TYPES, ...typesInTemplates(templatesDir)])].sort();
  const resourceTypes = {};
  for (const name of wanted) {
    const r = resources.get(name);
    if (!r) {
      throw new Error(`${name}: not in ${pkg.name}@${pkg.version}; is the type name right?`);
    }
    resourceTypes[name] = resourceEntry(r, typeDefs);
  }
  const spec = {
    package: pkg.name,
    version: pkg.version,
    resourceTypes,
  };
  writeFileSync(out, render(sortKeys(spec), '') + '\n');
  console.error(`wrote ${out}: ${wanted.length} resource types from ${pkg.name}@${pkg.version}`);
}

// typesInTemplates returns the resource types named by "Type: AWS::X::Y"
// lines of the templates (parameter types such as AWS::EC2::VPC::Id have four
// parts and do not match).
function typesInTemplates(dir) {
  const found = [];
  const re = /^\s*Type:\s*['"]?(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)['"]?\s*(#.*)?$/;
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const m = re.exec(line);
      if (m) found.push(m[1]);
    }
  }
  return found;
}

// resourceEntry converts one resource: its properties, the closure of the
// nested types they reference (named as in the resource, which is unique per
// resource but not across resources), and its attribute names.
function resourceEntry(r, typeDefs) {
  const propertyTypes = {};
  const byName = new Map();
  const pending = [];
  const convert = (t, where) => {
    switch (t.type) {
      case 'string':
      case 'number':
      case 'integer':
      case 'boolean':
      case 'json':
      case 'date-time':
      case 'tag': {
        const ref = { primitive: t.type };
        if (t.allowedValues) ref.allowedValues = [...t.allowedValues].map(String).sort();
        return ref;
      }
      case 'array':
        return { list: convert(t.element, where) };
      case 'map':
        return { map: convert(t.element, where) };
      case 'union':
        return { anyOf: t.types.map((u) => convert(u, where)).sort(byJSON) };
      case 'ref': {
        const def = typeDefs.get(t.reference.$ref);
        if (!def) throw new Error(`${where}: dangling type reference ${t.reference.$ref}`);
        const seen = byName.get(def.name);
        if (seen === undefined) {
          byName.set(def.name, def.$id);
          pending.push(def);
        } else if (seen !== def.$id) {
          throw new Error(`${where}: two nested types named ${def.name}`);
        }
        return { ref: def.name };
      }
      default:
        throw new Error(`${where}: unsupported type kind ${JSON.stringify(t.type)}`);
    }
  };
  const props = (properties, where) => {
    const out = {};
    for (const [name, p] of Object.entries(properties ?? {})) {
      const entry = convert(p.type, `${where}.${name}`);
      if (p.required) entry.required = true;
      out[name] = entry;
    }
    return out;
  };
  const properties = props(r.properties, r.cloudFormationType);
  while (pending.length > 0) {
    const def = pending.pop();
    propertyTypes[def.name] = props(def.properties, `${r.cloudFormationType}.${def.name}`);
  }
  return {
    attributes: Object.keys(r.attributes ?? {}).sort(),
    properties,
    propertyTypes,
  };
}

function byJSON(a, b) {
  const x = JSON.stringify(sortKeys(a));
  const y = JSON.stringify(sortKeys(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

// render is JSON.stringify with one line per property: objects are indented,
// type references and lists are written on one line, which keeps the file
// small and its diffs readable.
function render(v, indent) {
  const isTypeRef = (o) => ['primitive', 'ref', 'list', 'map', 'anyOf'].some((k) => k in o);
  if (v === null || typeof v !== 'object' || Array.isArray(v) || isTypeRef(v)) {
    return JSON.stringify(v);
  }
  const keys = Object.keys(v);
  if (keys.length === 0) return '{}';
  const inner = indent + ' ';
  const lines = keys.map((k) => `${inner}${JSON.stringify(k)}: ${render(v[k], inner)}`);
  return `{\n${lines.join(',\n')}\n${indent}}`;
}

// sortKeys returns v with every object's keys in sorted order.
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  }
  return v;
}

try {
  main(process.argv.slice(2));
} catch (err) {
  console.error(`extract.mjs: ${err.message}`);
  process.exit(1);
}
