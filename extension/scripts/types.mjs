// Generates src/generated/models.ts from src/generated/rest.schema.json (written by
// `python -m nb2prod.server.schema`). Run both with `./dev types` from the repository root.
// The banner records the schema's sha256, so a test can tell the types were generated from the
// committed schema even where node is missing.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const here = dirname(fileURLToPath(import.meta.url));
const schemaPath = join(here, '..', 'src', 'generated', 'rest.schema.json');
const outPath = process.argv[2] || join(here, '..', 'src', 'generated', 'models.ts');
const text = readFileSync(schemaPath, 'utf8');
const sha = createHash('sha256').update(text).digest('hex');
const banner = [
  '/* eslint-disable */',
  '/**',
  ' * The JSON of the nb2prod REST API, generated from the Python records: do not edit.',
  ' * Regenerate with `./dev types` (python -m nb2prod.server.schema, then jlpm types).',
  ` * schema sha256: ${sha}`,
  ' */'
].join('\n');
const ts = await compile(JSON.parse(text), 'RestAnswer', {
  bannerComment: banner,
  additionalProperties: false,
  unreachableDefinitions: true,
  strictIndexSignatures: false,
  format: true,
  declareExternallyReferenced: true
});
writeFileSync(outPath, ts);
