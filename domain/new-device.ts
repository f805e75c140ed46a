import { z } from 'zod';
import { PRODUCT_FAMILIES, PURCHASE_SOURCE_TYPES, SERIAL_RULE, isSerialNumber, type ProductFamily } from './devices';

/**
 * The rules of a new device (an orgDevices resource's attributes), one place for every way devices
 * arrive: POST /v1/orgDevices and the CLI's CSV import name the same rule the same way.
 */
const text = (max: number) => z.string().trim().max(max).refine((v) => !/\p{Cc}/u.test(v), 'must not contain control characters');
const ATTRIBUTES = z
  .object({
    serialNumber: z.string({ error: 'serialNumber is required' }),
    deviceModel: text(100).pipe(z.string().min(1, 'deviceModel must not be empty')),
    productFamily: z.enum(PRODUCT_FAMILIES, { error: `productFamily must be one of ${PRODUCT_FAMILIES.join(', ')}` }),
    os: text(20).optional(),
    color: text(50).optional(),
    deviceCapacity: text(50).optional(),
    orderNumber: text(100).optional(),
    purchaseSourceType: z.enum(PURCHASE_SOURCE_TYPES, { error: `purchaseSourceType must be one of ${PURCHASE_SOURCE_TYPES.join(', ')}` }).optional(),
    description: text(200).optional(),
    assetTag: text(100).optional(),
  })
  .strict();

/** The attribute names a new device may carry (the CSV import's columns). */
export const NEW_DEVICE_ATTRIBUTES = Object.keys(ATTRIBUTES.shape) as ReadonlyArray<keyof typeof ATTRIBUTES.shape>;
export const REQUIRED_DEVICE_ATTRIBUTES = ['serialNumber', 'deviceModel', 'productFamily'] as const;

export interface NewDeviceInput {
  serialNumber: string;
  deviceModel: string;
  productFamily: ProductFamily;
  os?: string | undefined;
  color?: string | undefined;
  deviceCapacity?: string | undefined;
  orderNumber?: string | undefined;
  purchaseSourceType?: (typeof PURCHASE_SOURCE_TYPES)[number] | undefined;
  description?: string | undefined;
  assetTag?: string | undefined;
}

/** A broken rule: which attribute (empty for the whole object), the rule in words, and its error code. */
export interface DeviceRuleBroken {
  ok: false;
  code: 'BAD_REQUEST' | 'SERIAL_NUMBER_INVALID';
  attribute: string;
  rule: string;
}

/** Checks one device's attributes; the serial number comes back trimmed and in capitals. */
export function readNewDevice(attributes: unknown): { ok: true; device: NewDeviceInput } | DeviceRuleBroken {
  const parsed = ATTRIBUTES.safeParse(attributes);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const rule = issue?.code === 'unrecognized_keys' ? `unknown attribute(s) ${issue.keys.join(', ')}` : (issue?.message ?? 'invalid');
    return { ok: false, code: 'BAD_REQUEST', attribute: issue?.path.join('.') ?? '', rule };
  }
  const serialNumber = parsed.data.serialNumber.trim().toUpperCase();
  if (!isSerialNumber(serialNumber)) {
    return { ok: false, code: 'SERIAL_NUMBER_INVALID', attribute: 'serialNumber', rule: `"${parsed.data.serialNumber.slice(0, 40)}" is not a serial number (${SERIAL_RULE})` };
  }
  return { ok: true, device: { ...parsed.data, serialNumber } };
}
