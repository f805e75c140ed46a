import { readFileSync } from 'node:fs';
import { parsePublicKeyCertificate } from '/work/main/domain/certificate';
import { buildServiceTokenP7m, generateServiceTokenSecrets } from '/work/main/domain/service-token';
const c = parsePublicKeyCertificate(readFileSync('/tmp/ctest/c.pem'), new Date());
const s = generateServiceTokenSecrets(new Date(Date.now() + 365 * 86400e3));
for (let r = 0; r < 3; r++) { let n = 0; const t0 = performance.now(); while (performance.now() - t0 < 1000) { buildServiceTokenP7m(c.der, generateServiceTokenSecrets(new Date())); n++; } console.log('tokens/s', n); }
