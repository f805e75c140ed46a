import { readFileSync } from 'node:fs';
import { parsePublicKeyCertificate } from '/work/main/domain/certificate';
import { buildServiceTokenP7m, generateServiceTokenSecrets } from '/work/main/domain/service-token';
const c = parsePublicKeyCertificate(readFileSync('/tmp/ctest/c.pem'), new Date());
const s = generateServiceTokenSecrets(new Date(Date.now() + 365 * 86400e3));
for (let i = 0; i < 5000; i++) buildServiceTokenP7m(c.der, s);
