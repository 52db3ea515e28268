import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChatApp } from '../chat-stack.js';
import type { Profile } from '../stack-config.js';
import { type CostTemplate, type IdleCost, idleCost } from './idle-cost.js';

/** The goals the profiles are held to, USD per month idle. */
export const IDLE_GOALS: Record<Profile, number> = { dev: 40, prod: 700 };

/**
 * Synthesizes `profile` offline as `cdk synth -c profile=<profile>` would (the `context` of
 * cdk.json included, functions not bundled: bundling changes no resource) and returns its template.
 */
export function synthesizeProfile(profile: Profile, projectRoot = process.cwd()): CostTemplate {
  const outdir = mkdtempSync(join(tmpdir(), 'hipochat-cost-'));
  try {
    const cdkJson = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8')) as {
      context?: Record<string, unknown>;
    };
    const { app, stack } = createChatApp({
      outdir,
      projectRoot,
      nag: false,
      context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [], profile, stage: profile },
    });
    return app.synth().getStackByName(stack.stackName).template as CostTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The idle cost of the dev and prod profiles, each computed from its synthesized template. */
export function idleCostOfProfiles(projectRoot = process.cwd()): IdleCost[] {
  return (['dev', 'prod'] as const).map((profile) =>
    idleCost(profile, synthesizeProfile(profile, projectRoot)),
  );
}
