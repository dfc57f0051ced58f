/**
 * Prints the current TOTP code for a secret, as an authenticator app would show it: for trying the administrator's
 * second factor on a development machine without a phone. Usage: node --import tsx dev/totp-code.ts SECRET
 */
import { generateSync } from 'otplib';

const secret = process.argv[2]?.replace(/\s+/g, '').toUpperCase();
if (!secret || !/^[A-Z2-7]+=*$/.test(secret)) {
  process.stderr.write('usage: node --import tsx dev/totp-code.ts SECRET   (the key shown on the second-factor set-up page)\n');
  process.exit(2);
}
const secondsLeft = 30 - (Math.floor(Date.now() / 1000) % 30);
process.stdout.write(`${generateSync({ secret })}   (valid for another ${secondsLeft} s; each code works once)\n`);
