// Package shapes shared by the package-manager drivers, events and the API.
import { Type, type Static } from 'typebox';

export const PendingPackage = Type.Object(
  {
    name: Type.String(),
    current_version: Type.Union([Type.String(), Type.Null()]),
    new_version: Type.String(),
    arch: Type.Union([Type.String(), Type.Null()]),
    repository: Type.Union([Type.String(), Type.Null()]),
    kind: Type.Union([Type.Literal('system'), Type.Literal('compose')], {
      description: 'system package, or a Compose service image',
    }),
  },
  { additionalProperties: false },
);
export type PendingPackage = Static<typeof PendingPackage>;

/** Something an update left alone, and why (a Compose service built locally, pinned by digest, or whose registry failed). */
export const SkippedPackage = Type.Object(
  {
    name: Type.String(),
    reason: Type.String(),
    code: Type.Union([Type.String(), Type.Null()], { description: 'error code when a failure caused the skip (REGISTRY_*), else null' }),
  },
  { additionalProperties: false },
);
export type SkippedPackage = Static<typeof SkippedPackage>;

export const UpdateResult = Type.Object(
  {
    success: Type.Boolean(),
    dry_run: Type.Boolean(),
    upgraded: Type.Integer({ minimum: 0 }),
    new: Type.Integer({ minimum: 0 }),
    removed: Type.Integer({ minimum: 0 }),
    reboot_required: Type.Boolean(),
    reboot_packages: Type.Array(Type.String()),
    packages: Type.Array(PendingPackage),
    skipped: Type.Array(SkippedPackage, { description: 'not updated, each with its reason' }),
    error: Type.Union([Type.String(), Type.Null()]),
    error_code: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);
export type UpdateResult = Static<typeof UpdateResult>;

/** A result with nothing done yet: the start of an upgrade, or the shape of one that failed. */
export function emptyUpdateResult(dryRun: boolean, failure?: { error: string; code: string }): UpdateResult {
  return {
    success: !failure,
    dry_run: dryRun,
    upgraded: 0,
    new: 0,
    removed: 0,
    reboot_required: false,
    reboot_packages: [],
    packages: [],
    skipped: [],
    error: failure?.error ?? null,
    error_code: failure?.code ?? null,
  };
}
