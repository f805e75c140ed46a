import { randomBytes, randomInt } from 'node:crypto';
import type { NewDevice } from '../db/devices';
import type { ProductFamily } from '../domain/devices';

/**
 * Demo devices for `generate-devices`: real model names per product family with their colors and
 * capacities, and serial numbers in Apple's current form (10 random characters, capitals and
 * digits, without the easily confused vowels), so a demo organization looks like a real one.
 */
interface Family {
  family: ProductFamily;
  /** Share of the generated devices, out of 100. */
  weight: number;
  models: string[];
  colors: string[];
  capacities: string[];
}

export const DEMO_FAMILIES: readonly Family[] = [
  {
    family: 'iPhone',
    weight: 40,
    models: ['iPhone 16 Pro', 'iPhone 16', 'iPhone 15', 'iPhone 15 Pro Max', 'iPhone 14', 'iPhone SE (3rd generation)'],
    colors: ['Black', 'White', 'Blue', 'Natural Titanium', 'Pink'],
    capacities: ['128GB', '256GB', '512GB'],
  },
  {
    family: 'iPad',
    weight: 20,
    models: ['iPad (10th generation)', 'iPad Air 11-inch (M2)', 'iPad Pro 13-inch (M4)', 'iPad mini (A17 Pro)'],
    colors: ['Space Gray', 'Silver', 'Blue', 'Starlight'],
    capacities: ['64GB', '128GB', '256GB'],
  },
  {
    family: 'Mac',
    weight: 28,
    models: ['MacBook Air 13-inch (M3)', 'MacBook Air 15-inch (M3)', 'MacBook Pro 14-inch (M4)', 'MacBook Pro 16-inch (M4 Pro)', 'iMac 24-inch (M4)', 'Mac mini (M4)'],
    colors: ['Space Gray', 'Silver', 'Midnight', 'Starlight', 'Space Black'],
    capacities: ['256GB', '512GB', '1TB'],
  },
  { family: 'AppleTV', weight: 4, models: ['Apple TV 4K (3rd generation)'], colors: ['Black'], capacities: ['64GB', '128GB'] },
  {
    family: 'Watch',
    weight: 6,
    models: ['Apple Watch Series 10', 'Apple Watch SE (2nd generation)', 'Apple Watch Ultra 2'],
    colors: ['Jet Black', 'Silver', 'Rose Gold', 'Natural'],
    capacities: ['32GB', '64GB'],
  },
  { family: 'Vision', weight: 2, models: ['Apple Vision Pro'], colors: ['Silver'], capacities: ['256GB', '512GB'] },
];

const SERIAL_ALPHABET = '0123456789BCDFGHJKLMNPQRSTVWXYZ';

export function demoSerialNumber(): string {
  return Array.from(randomBytes(10), (b) => SERIAL_ALPHABET[b % SERIAL_ALPHABET.length]).join('');
}

const pick = <T>(items: readonly T[]): T => items[randomInt(items.length)] as T;

function pickFamily(): Family {
  let roll = randomInt(DEMO_FAMILIES.reduce((sum, f) => sum + f.weight, 0));
  for (const family of DEMO_FAMILIES) {
    roll -= family.weight;
    if (roll < 0) return family;
  }
  return DEMO_FAMILIES[0] as Family;
}

/** One demo device as bought from Apple or a reseller, with an order number in Apple's style. */
export function demoDevice(): NewDevice {
  const f = pickFamily();
  const deviceModel = pick(f.models);
  return {
    serialNumber: demoSerialNumber(),
    deviceModel,
    productFamily: f.family,
    color: pick(f.colors),
    deviceCapacity: pick(f.capacities),
    orderNumber: `W${randomInt(100_000_000, 1_000_000_000)}`,
    purchaseSourceType: randomInt(4) === 0 ? 'RESELLER' : 'APPLE',
    description: deviceModel,
  };
}
