/**
 * A small bundled list of passwords that breach corpora show again and again (long enough to pass
 * the length rule, so the length rule alone would let them through), compared case-insensitively.
 * Deliberately small: it catches the obvious, the length rule does the rest, and no lookup leaves
 * the machine.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  '123456789012', '1234567890123', '12345678901234', '123456789123', '1234567891011', '111111111111',
  '000000000000', '123123123123', '121212121212', '987654321098', '147258369147', '123321123321',
  'password1234', 'password12345', 'password123456', 'password1!', 'passw0rd1234', 'p@ssw0rd1234',
  'p@ssword1234', 'passwordpassword', 'password123!', 'password2024', 'password2025', 'password2026',
  'qwertyuiop12', 'qwertyuiop123', 'qwertyuiop1234', 'qwerty123456', 'qwerty1234567', 'qwertyqwerty',
  'asdfghjkl123', 'asdfghjkl1234', 'zxcvbnm12345', '1qaz2wsx3edc', '1q2w3e4r5t6y', 'q1w2e3r4t5y6',
  'qazwsxedcrfv', 'iloveyou1234', 'iloveyou123!', 'letmein12345', 'letmeinplease', 'welcome12345',
  'welcome123456', 'welcome2024!', 'welcome2025!', 'welcome2026!', 'changeme1234', 'changeme123!',
  'administrator', 'administrator1', 'admin1234567', 'admin123456789', 'adminadmin123', 'rootroot1234',
  'trustno112345', 'sunshine1234', 'princess1234', 'football1234', 'baseball1234', 'superman1234',
  'batman123456', 'starwars1234', 'dragon123456', 'monkey123456', 'master123456', 'shadow123456',
  'michael12345', 'jennifer1234', 'computer1234', 'internet1234', 'whatever1234', 'abcdefghijkl',
  'abcdefgh1234', 'abcd12345678', 'abc123456789', 'aaaaaaaaaaaa', 'correcthorsebatterystaple',
  'mypassword123', 'secretpassword', 'supersecret123', 'summer202425', 'spring2025!!', 'winter2024!!',
  'autumn2025!!', 'january2025!', 'december2025', 'apple1234567', 'applebusiness', 'appleid12345',
  'iphone123456', 'macbookpro123', 'devicemanagement', 'mdmpassword1', 'temporal1234', 'postgres1234',
]);
