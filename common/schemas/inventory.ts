// A host's inventory: OS, hardware, installed packages and Docker objects,
// collected with osquery when the host has it and with plain commands
// otherwise (`source` says which). Fields a host cannot report are null.
import { Type, type Static } from 'typebox';

const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableInt = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);

export const InventorySystem = Type.Object(
  {
    hostname: Type.String(),
    os_name: NullableString,
    os_version: NullableString,
    os_codename: NullableString,
    kernel: NullableString,
    arch: NullableString,
    uptime_s: NullableInt,
  },
  { additionalProperties: false },
);

export const InventoryDisk = Type.Object(
  {
    mount: Type.String(),
    device: Type.String(),
    size_bytes: Type.Integer({ minimum: 0 }),
    free_bytes: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const InventoryInterface = Type.Object(
  {
    name: Type.String(),
    addresses: Type.Array(Type.String(), { description: 'Addresses with prefix length, e.g. 192.0.2.7/24' }),
  },
  { additionalProperties: false },
);

export const InventoryHardware = Type.Object(
  {
    cpu_model: NullableString,
    cpu_cores: NullableInt,
    memory_bytes: NullableInt,
    disks: Type.Array(InventoryDisk),
    interfaces: Type.Array(InventoryInterface),
  },
  { additionalProperties: false },
);

export const InventoryPackage = Type.Object(
  {
    name: Type.String(),
    version: Type.String(),
    arch: NullableString,
    source: Type.Union([Type.Literal('deb'), Type.Literal('rpm')]),
  },
  { additionalProperties: false },
);

export const InventoryContainer = Type.Object(
  { id: Type.String(), name: Type.String(), image: Type.String(), state: Type.String() },
  { additionalProperties: false },
);

export const InventoryImage = Type.Object(
  { id: Type.String(), repository: Type.String(), tag: Type.String() },
  { additionalProperties: false },
);

export const Inventory = Type.Object(
  {
    system: InventorySystem,
    hardware: InventoryHardware,
    packages: Type.Array(InventoryPackage),
    docker: Type.Object(
      { containers: Type.Array(InventoryContainer), images: Type.Array(InventoryImage) },
      { additionalProperties: false },
    ),
    collected_at: Type.String({ format: 'date-time' }),
    source: Type.Union([Type.Literal('osquery'), Type.Literal('commands')]),
  },
  { additionalProperties: false },
);
export type Inventory = Static<typeof Inventory>;
export type InventoryPackage = Static<typeof InventoryPackage>;
export type InventoryDisk = Static<typeof InventoryDisk>;
export type InventoryInterface = Static<typeof InventoryInterface>;
export type InventoryContainer = Static<typeof InventoryContainer>;
export type InventoryImage = Static<typeof InventoryImage>;
