import { readFileSync, writeFileSync } from 'node:fs';
import { parsePublicKeyCertificate } from '/work/main/domain/certificate';
import { buildServiceTokenP7m, generateServiceTokenSecrets } from '/work/main/domain/service-token';
const c = parsePublicKeyCertificate(readFileSync('/tmp/ctest/c.pem'), new Date());
writeFileSync('/tmp/ctest/t.p7m', buildServiceTokenP7m(c.der, generateServiceTokenSecrets(new Date(Date.now() + 365 * 86400e3))));
