/**
 * Synthetic people for benchmarks: names and emails varied enough that substring searches have realistic
 * selectivity. Surnames follow a Zipf-like curve (a few very common, a long tail of rare ones), first names too,
 * and mail domains range from huge providers to small companies. Deterministic: user n is always the same person.
 */

const FIRST = (
  'james mary robert patricia john jennifer michael linda david elizabeth william barbara richard susan joseph ' +
  'jessica thomas sarah christopher karen charles lisa daniel nancy matthew betty anthony sandra mark margaret ' +
  'donald ashley steven kimberly andrew emily paul donna joshua michelle kenneth carol kevin amanda brian melissa ' +
  'george deborah timothy stephanie ronald rebecca jason sharon edward laura jeffrey cynthia ryan dorothy jacob ' +
  'amy gary kathleen nicholas angela eric shirley jonathan emma stephen brenda larry pamela justin nicole scott ' +
  'anna brandon samantha benjamin katherine samuel christine gregory debra alexander rachel patrick carolyn frank ' +
  'janet raymond maria jack olivia dennis heather jerry helen tyler catherine aaron diane jose julie adam victoria ' +
  'nathan joyce henry lauren zachary kelly douglas christina peter ruth kyle joan noah virginia ethan judith ' +
  'jeremy evelyn walter hannah christian andrea keith megan roger cheryl terry jacqueline austin madison sean ' +
  'teresa gerald abigail carl sophia harold martha dylan sara arthur gloria lawrence janice jordan kathryn jesse ' +
  'ann bryan isabella billy judy bruce charlotte gabriel julia joe grace logan amber alan alice juan jean albert ' +
  'denise willie frances elijah danielle wayne marilyn randy natalie vincent beverly mason diana roy brittany ' +
  'ralph theresa bobby kayla russell alexis bradley doris philip lori eugene tiffany ' +
  'aiko björn chidi dagny eitan farida goran haruto ingrid jovana kalani leilani mateus nnamdi oksana priya ' +
  'quang rafael siobhan tariq ulla vikram wanjiru xiomara yusuf zofia'
).split(' ');

const SYLLABLES_A = ['ander', 'bar', 'cal', 'dun', 'el', 'fair', 'gar', 'hal', 'ing', 'kel', 'lind', 'mor', 'nor', 'ost', 'pem', 'quill', 'ros', 'stan', 'thorn', 'ul', 'vel', 'wes', 'yar', 'zel'];
const SYLLABLES_B = ['a', 'e', 'i', 'o', 'u', 'ber', 'den', 'ford', 'gate', 'ham', 'ley', 'mond', 'ney', 'ridge', 'son', 'ton', 'ville', 'wick', 'worth'];
const SYLLABLES_C = ['', 's', 'er', 'ing', 'ski', 'sen', 'ez', 'ov', 'ley', 'berg'];
const COMMON_SURNAMES = ['smith', 'johnson', 'williams', 'brown', 'jones', 'garcia', 'miller', 'davis', 'rodriguez', 'martinez', 'hernandez', 'lopez', 'gonzalez', 'wilson', 'anderson', 'thomas', 'taylor', 'moore', 'jackson', 'martin', 'lee', 'nguyen', 'kim', 'wang', 'li', 'müller', 'schmidt', 'rossi', 'dubois', 'silva'];

/** Every surname, most common first: the common ones, then thousands of generated, rarer ones. */
const SURNAMES: string[] = [
  ...COMMON_SURNAMES,
  ...SYLLABLES_A.flatMap((a) => SYLLABLES_B.flatMap((b) => SYLLABLES_C.map((c) => a + b + c))),
];

const DOMAINS = [
  'gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com', 'proton.me', 'aol.com', 'gmx.de', 'web.de',
  'orange.fr', 'libero.it', 'mail.ru', 'qq.com', 'naver.com', 'fastmail.com', 'zoho.com', 'yandex.ru', 'tutanota.com',
  'acme-corp.com', 'globex.com', 'initech.com', 'umbrella.org', 'hooli.io', 'stark.industries', 'wayne-ent.com',
  'cyberdyne.net', 'tyrell.co', 'soylent.com', 'vandelay.com', 'wonka.co.uk', 'massive-dynamic.com', 'aperture.science',
];

/** The domain every seeded address ends with: how the seeder tells its users from real ones. */
export const SEED_SUFFIX = '.seed';

/** A deterministic pseudo-random number in [0, 1) for (n, salt): no state, so any user can be made alone. */
function unit(n: number, salt: number): number {
  let x = (n * 0x9e3779b1 + salt * 0x85ebca77) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x / 2 ** 32;
}

/** Index in [0, size) with Zipf-like weights (exponent ~1): rank r is drawn about 1/r as often as rank 1. */
function zipf(size: number, u: number): number {
  return Math.min(size - 1, Math.floor(Math.exp(u * Math.log(size + 1))) - 1);
}

export interface SeedPerson {
  email: string;
  firstName: string;
  lastName: string;
}

export function seedPerson(n: number): SeedPerson {
  const first = FIRST[zipf(FIRST.length, unit(n, 1))]!;
  const last = SURNAMES[zipf(SURNAMES.length, unit(n, 2))]!;
  const domain = DOMAINS[zipf(DOMAINS.length, unit(n, 3))]!;
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  return { email: `${first}.${last}.${n}@${domain}${SEED_SUFFIX}`, firstName: cap(first), lastName: cap(last) };
}

/** Search terms of known kinds for the benchmark, chosen so their selectivity is realistic. */
export const BENCH_TERMS = {
  common: 'smith', // the most frequent surname: several percent of users
  domain: 'gmail', // the biggest mail provider
  mid: 'thornridge', // a mid-ranked generated surname
  rare: 'zelvilleberg', // from the far tail: a handful of users even at 1M
  twoTerms: 'mary smith',
  short: 'li', // 2 characters: no trigram index can serve it
};
