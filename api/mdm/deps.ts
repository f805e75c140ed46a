import type { Db } from '../../db/client';
import type { SecretBox } from '../../domain/secret-box';
import type { Logger } from '../../runtime/logger';
import type { LinkCommands } from '../link-commands';
import type { MdmDevicesOptions } from './devices';
import type { DepOptions } from './session';

/** What the MDM-facing service's routers are built from (runtime/services.ts wires it). */
export interface MdmDeps {
  db: Db;
  commands: LinkCommands;
  secretBox: SecretBox;
  logger: Logger;
  options: DepOptions;
  /** Fetch and sync cursors: maximum age (and, in tests, their clock). */
  devices: MdmDevicesOptions;
  now: () => Date;
}
