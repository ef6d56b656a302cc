//! The synthetic workforce with ground truth: the one generator behind the
//! matcher's corpora, the demo, the daemon's tests and the benchmarks
//! (`workforce` views it as employee rows and a PodFactory export).
//!
//! Seedable and self-contained (its own SplitMix64, so a seed means the same
//! corpus on every platform and dependency version). What it imitates:
//! - names drawn with realistic skew (common names repeat, so namesakes
//!   happen by chance, and 1.5% more are planted in other departments),
//!   diacritics (`José Núñez`), letters NFKD cannot fold (`Łukasz`,
//!   `Søren`), umlauts, apostrophes, hyphenated and two-part surnames,
//!   middle names and initials, `Jr.`;
//! - married-name changes: the employee's current name with the old one in
//!   `previous_names`, PodFactory often still on the old;
//! - PodFactory spellings: `John Doe`, `john.doe`, `john_doe`, `Doe, John`,
//!   upper/lower case, `Doe John`, nicknames, a middle name dropped or an
//!   initial added, one-letter typos, diacritics dropped, `ü` → `ue`, an
//!   initial for the given name, no name at all;
//! - emails: the employee's, with a station suffix, personal, missing;
//! - ~10% of employees with no PodFactory user, ~10% of PodFactory users
//!   with no employee (leavers, temps, station logins).

use rosterd_core::matching::{EmployeeRecord, PodFactoryUser};
use rosterd_core::model::{Email, EmployeeId};
use std::path::Path;

#[derive(Debug, Clone)]
pub struct Corpus {
    pub employees: Vec<EmployeeRecord>,
    pub users: Vec<PodFactoryUser>,
    /// The employee each user really is (None: exists in PodFactory only).
    pub truth: Vec<Option<EmployeeId>>,
}

/// SplitMix64: tiny, fast, and stable forever.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Draws with a Zipf-like skew: rank r has weight 1 / (r + flatten).
struct Skewed {
    cumulative: Vec<f64>,
}

impl Skewed {
    fn new(n: usize, flatten: f64) -> Self {
        let mut acc = 0.0;
        let cumulative = (0..n)
            .map(|r| {
                acc += 1.0 / (r as f64 + flatten);
                acc
            })
            .collect();
        Skewed { cumulative }
    }
    fn draw(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
        self.cumulative
            .partition_point(|&c| c < x)
            .min(self.cumulative.len() - 1)
    }
}

const FIRST: &[&str] = &[
    "James",
    "Maria",
    "Michael",
    "Jennifer",
    "Robert",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Jessica",
    "José",
    "Patricia",
    "Christopher",
    "Sarah",
    "Daniel",
    "Karen",
    "Matthew",
    "Nancy",
    "Anthony",
    "Lisa",
    "Joseph",
    "Ashley",
    "John",
    "Emily",
    "Luis",
    "Guadalupe",
    "Juan",
    "Ana",
    "Carlos",
    "Verónica",
    "Richard",
    "Michelle",
    "Thomas",
    "Kimberly",
    "Charles",
    "Amanda",
    "Steven",
    "Melissa",
    "Kevin",
    "Stephanie",
    "Brian",
    "Rebecca",
    "Jesús",
    "Mónica",
    "Miguel",
    "Sofía",
    "Ángel",
    "Inés",
    "Francisco",
    "Lucía",
    "Nguyen",
    "Thi",
    "Minh",
    "Anh",
    "Huong",
    "Tuan",
    "Mohammed",
    "Fatima",
    "Ahmed",
    "Aisha",
    "Łukasz",
    "Agnieszka",
    "Wojciech",
    "Małgorzata",
    "Søren",
    "Ingrid",
    "Björn",
    "Åsa",
    "Jürgen",
    "Jörg",
    "Zoë",
    "Renée",
    "François",
    "Chloé",
    "Hélène",
    "Noël",
    "Joël",
    "Çağla",
    "İbrahim",
    "Şebnem",
    "Andrew",
    "Samantha",
    "Benjamin",
    "Victoria",
    "Nicholas",
    "Katherine",
    "Alexander",
    "Margaret",
    "Jonathan",
    "Deborah",
    "Gregory",
    "Cynthia",
    "Timothy",
    "Pamela",
    "Edward",
    "Angela",
    "Ronald",
    "Barbara",
    "Kenneth",
    "Susan",
    "Tyrone",
    "Latoya",
    "DeShawn",
    "Keisha",
    "Jamal",
    "Imani",
    "Marcus",
    "Tanisha",
    "Andre",
    "Ebony",
    "Priya",
    "Rahul",
    "Ananya",
    "Vikram",
    "Deepa",
    "Arjun",
    "Mei",
    "Wei",
    "Jun",
    "Hiroshi",
    "Yuki",
    "Kenji",
    "Olga",
    "Dmitri",
    "Svetlana",
    "Igor",
    "Natalia",
    "Sergei",
    "Oksana",
    "Pavel",
    "Gabriel",
    "Gabriela",
    "Alejandro",
    "Alejandra",
    "Eduardo",
    "Adriana",
    "Ricardo",
    "Claudia",
    "Fernando",
    "Rosa",
    "Patrick",
    "Colleen",
    "Sean",
    "Siobhan",
    "Declan",
    "Niamh",
    "Zachary",
    "Madison",
    "Jacob",
    "Abigail",
    "Joshua",
    "Olivia",
    "Samuel",
    "Natalie",
    "Nathan",
    "Allison",
    "Dominic",
    "Valerie",
    "Vincent",
    "Teresa",
    "Leonard",
    "Frances",
    "Harold",
    "Dorothy",
    "Walter",
    "Jacqueline",
    "Raymond",
    "Beverly",
    "Douglas",
    "Theresa",
    "Jon",
    "Joan",
    "Mark",
    "Mary",
    "Eric",
    "Erin",
    "Dana",
    "Diana",
    "Sara",
    "Carla",
];

const LAST_COMMON: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "García",
    "Miller",
    "Davis",
    "Rodríguez",
    "Martínez",
    "Hernández",
    "López",
    "González",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Pérez",
    "Thompson",
    "White",
    "Harris",
    "Sánchez",
    "Clark",
    "Ramírez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Núñez",
    "Muñoz",
    "Ibáñez",
    "Peña",
    "Castañeda",
    "Gutiérrez",
    "Jiménez",
    "Vásquez",
    "Domínguez",
    "Márquez",
    "Müller",
    "Schröder",
    "Schäfer",
    "Köhler",
    "Groß",
    "Weiß",
    "Krüger",
    "Böhm",
    "Jäger",
    "Günther",
    "Kowalski",
    "Wójcik",
    "Łukaszewicz",
    "Dąbrowski",
    "Wiśniewski",
    "Nowak",
    "Zieliński",
    "Szymański",
    "Woźniak",
    "Kozłowski",
    "Østergaard",
    "Sørensen",
    "Æbelø",
    "Bjørnstad",
    "Håkansson",
    "Lindqvist",
    "Ström",
    "Åberg",
    "Nyström",
    "Löfgren",
    "O'Brien",
    "O'Connor",
    "D'Angelo",
    "O'Neill",
    "McDonald",
    "MacLeod",
    "McCarthy",
    "O'Sullivan",
    "D'Souza",
    "McKenzie",
    "Smith-Jones",
    "García Márquez",
    "Lloyd-Webber",
    "Pérez-Reverte",
    "Van der Berg",
    "De la Cruz",
    "Del Rosario",
    "Van Dyke",
    "St. John",
    "Da Silva",
    "Tran",
    "Le",
    "Pham",
    "Huynh",
    "Hoang",
    "Phan",
    "Vu",
    "Vo",
    "Dang",
    "Bui",
    "Kim",
    "Park",
    "Choi",
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Yang",
    "Huang",
    "Patel",
    "Shah",
    "Singh",
    "Kumar",
    "Sharma",
    "Gupta",
    "Reddy",
    "Rao",
    "Iyer",
    "Nair",
    "Yılmaz",
    "Kaya",
    "Demir",
    "Şahin",
    "Çelik",
    "Öztürk",
    "Aydın",
    "Arslan",
    "Doğan",
    "Kılıç",
    "Ivanov",
    "Petrov",
    "Smirnov",
    "Volkov",
    "Popov",
    "Sokolov",
    "Lebedev",
    "Kozlov",
    "Novikov",
    "Morozov",
    "Cooper",
    "Morgan",
    "Bell",
    "Murphy",
    "Bailey",
    "Cook",
    "Rogers",
    "Reed",
    "Howard",
    "Ward",
    "Cox",
    "Diaz",
    "Richardson",
    "Wood",
    "Watson",
    "Brooks",
    "Bennett",
    "Gray",
    "James",
    "Reyes",
    "Cruz",
    "Hughes",
    "Price",
    "Myers",
    "Long",
    "Foster",
    "Sanders",
    "Ross",
    "Morales",
    "Powell",
    "Sullivan",
    "Russell",
    "Ortiz",
    "Jenkins",
    "Perry",
    "Butler",
    "Barnes",
    "Fisher",
    "Henderson",
    "Coleman",
];

const SYLLABLE_HEAD: &[&str] = &[
    "Hal", "Bran", "Cor", "Dal", "Eck", "Fen", "Gar", "Hart", "Ing", "Jor", "Kess", "Lind", "Mar",
    "Nor", "Ost", "Pem", "Quill", "Ros", "Stan", "Thorn", "Ul", "Vand", "Wes", "Yar", "Zel", "Ash",
    "Black", "Cald", "Drum", "Elm", "Fair", "Gold", "Holl", "Kirk", "Lang", "Mont", "Pres", "Rad",
    "Sher", "Tal",
];
const SYLLABLE_TAIL: &[&str] = &[
    "vorsen", "ley", "wick", "ford", "berg", "stein", "ton", "well", "wood", "mann", "ridge",
    "son", "dale", "field", "ham", "stead", "worth", "by", "croft", "lund", "strom", "oza", "ello",
    "ardi", "escu", "enko", "ovic", "ak", "ski", "quist",
];

const NICK: &[(&str, &str)] = &[
    ("William", "Bill"),
    ("Robert", "Bob"),
    ("Elizabeth", "Liz"),
    ("Michael", "Mike"),
    ("James", "Jim"),
    ("Christopher", "Chris"),
    ("Daniel", "Dan"),
    ("Matthew", "Matt"),
    ("Anthony", "Tony"),
    ("Joseph", "Joe"),
    ("Richard", "Rick"),
    ("Thomas", "Tom"),
    ("Charles", "Charlie"),
    ("Steven", "Steve"),
    ("Katherine", "Kate"),
    ("Margaret", "Maggie"),
    ("Jennifer", "Jen"),
    ("Patricia", "Pat"),
    ("Andrew", "Andy"),
    ("Samantha", "Sam"),
    ("Benjamin", "Ben"),
    ("Nicholas", "Nick"),
    ("Alexander", "Alex"),
    ("Deborah", "Debbie"),
    ("Kimberly", "Kim"),
    ("Gregory", "Greg"),
    ("Timothy", "Tim"),
    ("Edward", "Ed"),
    ("Kenneth", "Ken"),
    ("Ronald", "Ron"),
    ("Jonathan", "Jon"),
    ("Zachary", "Zach"),
    ("Joshua", "Josh"),
    ("Samuel", "Sam"),
    ("Jacob", "Jake"),
    ("Francisco", "Paco"),
    ("Guadalupe", "Lupe"),
    ("Eduardo", "Lalo"),
    ("Rebecca", "Becky"),
    ("Victoria", "Vicky"),
];

/// (department, role code, PodFactory role, station email suffix, Auth0 role)
pub(crate) const DEPARTMENTS: &[(&str, &str, &str, &str, &str)] = &[
    ("Picking", "PICKER", "Picker", "pick", "Picker"),
    ("Packing", "PACKER", "Packer", "pack", "Packer"),
    ("Shipping", "SHIPPER", "Shipping", "shp", "Shipper"),
    (
        "Heat Press",
        "HEAT_PRESS",
        "Heat Press",
        "hp",
        "Heat Press Operator",
    ),
    (
        "Printing",
        "PRINTER_OP",
        "Printer",
        "ship",
        "Printer Operator",
    ),
    ("Quality", "QC", "QC", "pack", "QC Inspector"),
    (
        "Maintenance",
        "MAINT_TECH",
        "Maintenance",
        "pick",
        "Maintenance Technician",
    ),
    (
        "Receiving",
        "RECV_CLERK",
        "Receiving",
        "pick",
        "Receiving Clerk",
    ),
    (
        "Production",
        "SHIFT_SUP",
        "Supervisor",
        "shp",
        "Shift Supervisor",
    ),
];

/// The company's mail domain.
pub const COMPANY: &str = "printworks.com";
const PERSONAL: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
];

struct Person {
    first: String,
    middle: Option<String>,
    last: String,
    suffix: bool,
}

impl Person {
    fn full(&self) -> String {
        let mut s = self.first.clone();
        if let Some(m) = &self.middle {
            s.push(' ');
            s.push_str(m);
        }
        s.push(' ');
        s.push_str(&self.last);
        if self.suffix {
            s.push_str(" Jr.");
        }
        s
    }
}

struct Names {
    first: Skewed,
    last: Skewed,
    synthetic: Vec<String>,
}

impl Names {
    fn new() -> Self {
        let synthetic = SYLLABLE_HEAD
            .iter()
            .flat_map(|h| SYLLABLE_TAIL.iter().map(move |t| format!("{h}{t}")))
            .collect();
        Names {
            first: Skewed::new(FIRST.len(), 25.0),
            last: Skewed::new(LAST_COMMON.len(), 40.0),
            synthetic,
        }
    }
    fn first(&self, rng: &mut Rng) -> String {
        FIRST[self.first.draw(rng)].to_string()
    }
    fn last(&self, rng: &mut Rng) -> String {
        if rng.chance(0.5) {
            LAST_COMMON[self.last.draw(rng)].to_string()
        } else {
            rng.pick(&self.synthetic).clone()
        }
    }
    fn person(&self, rng: &mut Rng) -> Person {
        let first = self.first(rng);
        let middle = if rng.chance(0.22) {
            Some(self.first(rng))
        } else if rng.chance(0.1) {
            Some(format!("{}.", (b'A' + rng.below(26) as u8) as char))
        } else {
            None
        };
        Person {
            first,
            middle,
            last: self.last(rng),
            suffix: rng.chance(0.01),
        }
    }
}

/// ASCII, lowercase, letters only: how the mail admin spells a name.
fn mailbox_part(s: &str) -> String {
    deunicode::deunicode(s)
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Allocates unique company mailboxes (`john.doe`, `john.doe2`, …).
#[derive(Default)]
struct Mailboxes(rustc_hash::FxHashMap<String, u32>);

impl Mailboxes {
    fn take(&mut self, base: &str) -> String {
        let n = self.0.entry(base.to_string()).or_insert(0);
        *n += 1;
        if *n == 1 {
            format!("{base}@{COMPANY}")
        } else {
            format!("{base}{n}@{COMPANY}")
        }
    }
}

/// Generate `employees` employees and their PodFactory users; `emails`
/// false gives PodFactory users no email (the names-only case).
pub fn generate(employees: usize, seed: u64, emails: bool) -> Corpus {
    let mut rng = Rng::new(seed);
    let names = Names::new();
    let mut boxes = Mailboxes::default();
    let mut people: Vec<(EmployeeRecord, Person, Option<String>)> = Vec::with_capacity(employees);
    for i in 0..employees {
        let mut p = names.person(&mut rng);
        // Planted namesakes, in another department.
        if i > 10 && rng.chance(0.015) {
            let other = &people[rng.below(people.len())].1;
            p.first = other.first.clone();
            p.last = other.last.clone();
        }
        let mut previous = Vec::new();
        let mut maiden = None;
        if rng.chance(0.03) {
            let old = Person {
                first: p.first.clone(),
                middle: None,
                last: names.last(&mut rng),
                suffix: false,
            };
            previous.push(old.full());
            maiden = Some(old.last);
        }
        // Half of the married keep the mailbox of their old name.
        let mailbox_last = match &maiden {
            Some(m) if rng.chance(0.5) => m.clone(),
            _ => p.last.clone(),
        };
        let (first, last) = (mailbox_part(&p.first), mailbox_part(&mailbox_last));
        let base = if rng.chance(0.15) {
            format!("{}{last}", &first[..first.len().min(1)])
        } else {
            format!("{first}.{last}")
        };
        let email = boxes.take(&base);
        let d = &DEPARTMENTS[if rng.chance(0.8) {
            rng.below(4)
        } else {
            4 + rng.below(DEPARTMENTS.len() - 4)
        }];
        let record = EmployeeRecord {
            id: EmployeeId(1000 + i as i64),
            full_name: p.full(),
            email: Email::parse(&email).unwrap_or_else(|_| fallback_email(i)),
            department: d.0.to_string(),
            role_code: d.1.to_string(),
            is_active: rng.chance(0.92),
            previous_names: previous,
        };
        people.push((record, p, maiden));
    }

    let mut users: Vec<(PodFactoryUser, Option<EmployeeId>)> = Vec::new();
    for (e, p, maiden) in &people {
        if !rng.chance(0.9) {
            continue;
        }
        let d = DEPARTMENTS
            .iter()
            .find(|d| d.0 == e.department)
            .unwrap_or(&DEPARTMENTS[0]);
        let mut shown = Person {
            first: p.first.clone(),
            middle: p.middle.clone(),
            last: match maiden {
                Some(m) if rng.chance(0.6) => m.clone(),
                _ => p.last.clone(),
            },
            suffix: p.suffix && rng.chance(0.5),
        };
        let name = pf_name(&mut shown, &mut rng);
        let email = if !emails {
            None
        } else {
            let r = rng.next_u64() % 100;
            let local = e.email.local_part();
            match r {
                0..=54 if rng.chance(0.1) => Some(e.email.as_str().to_uppercase()),
                0..=54 => Some(e.email.to_string()),
                55..=74 => Some(format!("{local}.{}@{COMPANY}", d.3)),
                75..=84 => Some(personal_email(&shown, &mut rng)),
                _ => None,
            }
        };
        let role = if rng.chance(0.1) {
            None
        } else if rng.chance(0.05) {
            Some(rng.pick(DEPARTMENTS).2.to_string())
        } else {
            Some(d.2.to_string())
        };
        users.push((
            PodFactoryUser {
                id: String::new(),
                name,
                email,
                user_role: role,
            },
            Some(e.id),
        ));
    }
    // People in PodFactory only: leavers long gone from the employees
    // table, temps, and a few shared station logins.
    let extra = employees / 10;
    for k in 0..extra {
        let d = rng.pick(DEPARTMENTS);
        if k % 20 == 0 {
            let n = 1 + rng.below(9);
            users.push((
                PodFactoryUser {
                    id: String::new(),
                    name: Some(format!("{} Station {n}", d.2)),
                    email: emails.then(|| format!("{}{n}@{COMPANY}", d.3)),
                    user_role: Some(d.2.to_string()),
                },
                None,
            ));
            continue;
        }
        let mut p = names.person(&mut rng);
        let (first, last) = (mailbox_part(&p.first), mailbox_part(&p.last));
        let own = boxes.take(&format!("{first}.{last}"));
        let name = pf_name(&mut p, &mut rng);
        let email = match rng.next_u64() % 100 {
            _ if !emails => None,
            0..=39 => Some(own),
            40..=59 => Some(personal_email(&p, &mut rng)),
            _ => None,
        };
        users.push((
            PodFactoryUser {
                id: String::new(),
                name,
                email,
                user_role: Some(d.2.to_string()),
            },
            None,
        ));
    }
    // PodFactory lists users in its own order, under its own ids.
    for i in (1..users.len()).rev() {
        let j = rng.below(i + 1);
        users.swap(i, j);
    }
    for (k, (u, _)) in users.iter_mut().enumerate() {
        u.id = format!("pf-{}", 50_000 + k);
    }
    let (users, truth) = users.into_iter().unzip();
    Corpus {
        employees: people.into_iter().map(|(e, _, _)| e).collect(),
        users,
        truth,
    }
}

fn fallback_email(i: usize) -> Email {
    Email::parse(&format!("employee{i}@{COMPANY}"))
        .unwrap_or_else(|_| unreachable!("a fixed valid address"))
}

fn personal_email(p: &Person, rng: &mut Rng) -> String {
    let (f, l) = (mailbox_part(&p.first), mailbox_part(&p.last));
    let year = 1960 + rng.below(45);
    let local = match rng.below(3) {
        0 => format!("{}{l}{year}", &f[..f.len().min(1)]),
        1 => format!("{f}{}{}", &l[..l.len().min(1)], year % 100),
        _ => format!("{l}.{f}"),
    };
    format!("{local}@{}", rng.pick(PERSONAL))
}

/// How PodFactory shows `p`; mutates `p` into the variant shown.
fn pf_name(p: &mut Person, rng: &mut Rng) -> Option<String> {
    if rng.chance(0.01) {
        return None;
    }
    if rng.chance(0.06) {
        if let Some((_, nick)) = NICK.iter().find(|(f, _)| *f == p.first) {
            p.first = nick.to_string();
        }
    }
    p.middle = match p.middle.take() {
        Some(_) if rng.chance(0.5) => None,
        Some(m) if rng.chance(0.6) => Some(format!("{}.", m.chars().next().unwrap_or('X'))),
        Some(m) => Some(m),
        None if rng.chance(0.05) => Some(format!("{}.", (b'A' + rng.below(26) as u8) as char)),
        None => None,
    };
    if rng.chance(0.3) {
        // Typed without accents; German umlauts sometimes as ue/oe/ae.
        let german = rng.chance(0.3);
        p.first = ascii_variant(&p.first, german);
        p.last = ascii_variant(&p.last, german);
    }
    if rng.chance(0.07) {
        if rng.chance(0.5) {
            p.last = typo(&p.last, rng);
        } else {
            p.first = typo(&p.first, rng);
        }
    }
    let plain = p.full();
    let lower_join = |sep: &str| {
        let mut parts = vec![p.first.clone()];
        parts.extend(p.middle.clone());
        parts.push(p.last.clone());
        parts.join(sep).to_lowercase().replace(' ', sep)
    };
    let r = rng.below(100);
    Some(match r {
        0..=52 => plain,
        53..=62 => lower_join("."),
        63..=69 => lower_join("_"),
        70..=79 => {
            let mut s = format!("{}, {}", p.last, p.first);
            if let Some(m) = &p.middle {
                s.push(' ');
                s.push_str(m);
            }
            s
        }
        80..=85 => plain.to_uppercase(),
        86..=90 => plain.to_lowercase(),
        91..=93 => format!("{} {}", p.last, p.first),
        94..=95 => format!("{}. {}", p.first.chars().next().unwrap_or('X'), p.last),
        _ => format!("  {plain} "),
    })
}

fn ascii_variant(s: &str, german: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            'ü' | 'ö' | 'ä' if german => {
                out.push(match c {
                    'ü' => 'u',
                    'ö' => 'o',
                    _ => 'a',
                });
                out.push('e');
            }
            'Ü' | 'Ö' | 'Ä' if german => {
                out.push(match c {
                    'Ü' => 'U',
                    'Ö' => 'O',
                    _ => 'A',
                });
                out.push('e');
            }
            c if c.is_ascii() => out.push(c),
            c => out.push_str(deunicode::deunicode_char(c).unwrap_or("")),
        }
    }
    out
}

/// One keyboard slip: a letter swapped with its neighbour, dropped,
/// doubled or replaced — never the first letter.
fn typo(s: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 4 {
        return s.to_string();
    }
    let i = 1 + rng.below(chars.len() - 2);
    match rng.below(4) {
        0 => chars.swap(i, i + 1),
        1 => {
            chars.remove(i);
        }
        2 => chars.insert(i, chars[i]),
        _ => chars[i] = (b'a' + rng.below(26) as u8) as char,
    }
    chars.into_iter().collect()
}

/// Write `E.csv`, `P.csv` and `truth.csv` (podfactory_id,employee_id) for
/// `rosterd match` into `dir`.
pub fn write_corpus(dir: &Path, employees: usize, seed: u64) -> anyhow::Result<()> {
    let c = generate(employees, seed, true);
    std::fs::create_dir_all(dir)?;
    let mut w = ::csv::Writer::from_path(dir.join("E.csv"))?;
    w.write_record([
        "id",
        "name",
        "email",
        "department",
        "is_active",
        "role",
        "previous_names",
    ])?;
    for e in &c.employees {
        w.write_record([
            e.id.to_string().as_str(),
            &e.full_name,
            e.email.as_str(),
            &e.department,
            if e.is_active { "true" } else { "false" },
            &e.role_code,
            &e.previous_names.join(";"),
        ])?;
    }
    w.flush()?;
    let mut w = ::csv::Writer::from_path(dir.join("P.csv"))?;
    w.write_record(["id", "name", "email", "user_role"])?;
    for u in &c.users {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        w.write_record([u.id.clone(), o(&u.name), o(&u.email), o(&u.user_role)])?;
    }
    w.flush()?;
    let mut w = ::csv::Writer::from_path(dir.join("truth.csv"))?;
    w.write_record(["podfactory_id", "employee_id"])?;
    for (u, t) in c.users.iter().zip(&c.truth) {
        w.write_record([u.id.clone(), t.map(|e| e.to_string()).unwrap_or_default()])?;
    }
    w.flush()?;
    Ok(())
}
