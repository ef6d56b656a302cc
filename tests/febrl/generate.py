#!/usr/bin/env python3
"""FEBRL-style benchmark corpus for PodFactory-user -> employee matching.

Written blind to rosterd's matcher: the noise model follows the FEBRL data
generator (Christen 2005) and its "dsgen" successor: original records drawn
from frequency tables, duplicates made by applying per-field noise operators
with configurable probabilities (typographic, OCR, phonetic, missing values,
swapped fields, name variants from a lookup table), several per record.

Writes into --out:
  employees.csv    HR source of truth: id,name,email,department,is_active,role,
                   workspace,previous_names
  podfactory.csv   vendor users: id,name,email,user_role
  truth.csv        podfactory_id,employee_id (empty: no true employee)
  noise.csv        podfactory_id,category,tags,note (not matcher input)

Usage: generate.py [--seed N] [--employees N] [--out DIR] [--no-emails]
                   [--rate NAME=P ...] [--list-rates] [--quiet]
Standard library only; the same seed and rates always give the same files.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import unicodedata
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------
# Frequency tables.  Each list is in rough popularity order; draws weight the
# i-th entry by 1/(i+1)^0.8, a Zipf-like curve as in FEBRL's frequency files,
# so common names repeat the way they do on a real floor.
# ---------------------------------------------------------------------------


def _w(text: str) -> list[str]:
    return [x.strip() for x in text.replace("\n", " ").split(",") if x.strip()]


GIVEN = {
    "english": _w("""James, Mary, John, Patricia, Robert, Jennifer, Michael, Linda, William,
        Elizabeth, David, Barbara, Richard, Susan, Joseph, Jessica, Thomas, Sarah, Charles,
        Karen, Christopher, Nancy, Daniel, Lisa, Matthew, Margaret, Anthony, Betty, Donald,
        Sandra, Mark, Ashley, Steven, Kimberly, Andrew, Emily, Joshua, Donna, Kenneth,
        Michelle, Kevin, Dorothy, Brian, Carol, Timothy, Amanda, Ronald, Melissa, Jeffrey,
        Deborah, Ruby, Katherine, Rebecca, Samuel, Alexander, Benjamin, Jacqueline, Nicholas,
        Victoria, Gregory, Christine, Jonathan, Abigail, Zachary, Tiffany, Tyrone, Latoya,
        DeShawn, Jasmine, Terrence, Shaniqua, Jennie, Emmett, Harold, Gwendolyn"""),
    "hispanic": _w("""José, María, Juan, Guadalupe, Luis, Carmen, Carlos, Rosa, Jesús, Ana,
        Miguel, Juana, Francisco, Verónica, Antonio, Alejandra, Alejandro, Adriana, Jorge,
        Gabriela, Pedro, Martha, Manuel, Leticia, Ricardo, Yolanda, Fernando, Claudia,
        Roberto, Elena, Javier, Lucía, Eduardo, Sofía, Raúl, Isabel, Héctor, Beatriz,
        Sergio, Araceli, Ramón, Maricela, Enrique, Esperanza, Arturo, Xóchitl, Iván,
        Graciela, Joaquín, Itzel"""),
    "vietnamese": _w("""Anh, Linh, Minh, Trang, Huy, Thao, Duc, Huong, Tuan, Lan, Hung, Mai,
        Long, Ngoc, Quang, Phuong, Thanh, Hanh, Dung, Thuy, Khoa, Nhung, Bao, Yen, Vinh,
        Hoa, Tam, Diep, Phuc, Loan"""),
    "chinese": _w("""Wei, Fang, Jing, Lei, Min, Yan, Jun, Li, Hao, Xin, Ying, Qiang, Hui,
        Tao, Mei, Jian, Lin, Yong, Xiaoling, Zhiwei, Yu, Chen, Xiu, Bo, Ming"""),
    "indian": _w("""Aarav, Priya, Rahul, Anjali, Amit, Sunita, Vijay, Lakshmi, Rajesh, Pooja,
        Sanjay, Deepa, Arjun, Kavya, Suresh, Neha, Venkatesh, Divya, Ravi, Meena, Anil,
        Shreya, Krishna, Aishwarya, Harpreet, Gurpreet, Manoj, Swati, Srinivas, Padma"""),
    "polish": _w("""Łukasz, Małgorzata, Paweł, Katarzyna, Piotr, Agnieszka, Krzysztof,
        Anna, Tomasz, Magdalena, Michał, Joanna, Wojciech, Ewa, Grzegorz, Barbara,
        Jarosław, Dorota, Przemysław, Żaneta, Aleksander, Zofia, Stanisław, Jadwiga,
        Bartłomiej, Urszula"""),
    "turkish": _w("""Mehmet, Ayşe, Mustafa, Fatma, Ahmet, Emine, Ali, Hatice, Hüseyin,
        Zeynep, İbrahim, Elif, Hasan, Özlem, Yusuf, Gülşen, Ömer, Şule, Kadir, Işıl"""),
    "nordic": _w("""Lars, Ingrid, Søren, Astrid, Bjørn, Sigrid, Jørgen, Kristín, Anders,
        Freja, Magnús, Åsa, Henrik, Solveig, Ægir, Gudrun, Mikael, Liv, Sven, Þóra"""),
}

SURNAME = {
    "english": _w("""Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson,
        Taylor, Thomas, Moore, Jackson, Martin, Lee, Thompson, White, Harris, Clark, Lewis,
        Robinson, Walker, Young, Allen, King, Wright, Scott, Hill, Green, Adams, Baker,
        Nelson, Carter, Mitchell, Roberts, Phillips, Campbell, Parker, Evans, Edwards,
        Collins, Stewart, Morris, Murphy, Cook, Rogers, Morgan, Cooper, Peterson, Reed,
        Bailey, Bell, Kelly, Howard, Ward, Cox, Richardson, Wood, Watson, Brooks, Bennett,
        Gray, Hughes, Price, Sanders, Myers, Long, Ross, Foster, Mason, Olivier, McDonald,
        O'Brien, Fitzgerald, Washington, Jefferson, Whitfield, Pennington"""),
    "hispanic": _w("""Garcia, Rodriguez, Martinez, Hernández, López, González, Pérez, Sánchez,
        Ramírez, Torres, Flores, Rivera, Gómez, Díaz, Cruz, Morales, Reyes, Gutiérrez,
        Ortiz, Chávez, Ramos, Ruiz, Jiménez, Mendoza, Álvarez, Castillo, Vásquez, Romero,
        Herrera, Medina, Aguilar, Vargas, Castro, Guzmán, Muñoz, Salazar, Rojas, Ibarra,
        Zúñiga, Villanueva, De la Cruz, Del Rio, Peña, Cervantes, Espinoza"""),
    "vietnamese": _w("""Nguyen, Tran, Le, Pham, Hoang, Phan, Vu, Dang, Bui, Do, Ho, Ngo,
        Duong, Ly, Truong, Dinh, Lam, Mai, Huynh, Vo"""),
    "chinese": _w("""Wang, Li, Zhang, Liu, Chen, Yang, Huang, Zhao, Wu, Zhou, Xu, Sun, Ma,
        Zhu, Hu, Guo, He, Lin, Gao, Luo, Zheng, Liang, Xie, Song, Tang"""),
    "indian": _w("""Patel, Sharma, Singh, Kumar, Shah, Gupta, Reddy, Rao, Iyer, Nair, Mehta,
        Desai, Joshi, Chopra, Malhotra, Agarwal, Krishnamurthy, Venkataraman, Bhattacharya,
        Subramanian, Pillai, Menon, Kaur, Banerjee"""),
    "polish": _w("""Nowak, Kowalski, Wiśniewski, Wójcik, Kowalczyk, Kamiński, Lewandowski,
        Zieliński, Szymański, Woźniak, Dąbrowski, Kozłowski, Jankowski, Mazur, Krawczyk,
        Piątek, Grabowski, Michalski, Król, Wróbel, Przybylski, Szczepański, Łukasik,
        Błaszczyk, Pietrzak"""),
    "turkish": _w("""Yılmaz, Kaya, Demir, Şahin, Çelik, Yıldız, Yıldırım, Öztürk, Aydın,
        Özdemir, Arslan, Doğan, Kılıç, Aslan, Çetin, Kara, Koç, Kurt, Özkan, Şimşek"""),
    "nordic": _w("""Hansen, Johansen, Olsen, Larsen, Andersen, Pedersen, Nielsen, Kristiansen,
        Jensen, Karlsson, Lindqvist, Sørensen, Østergaard, Bjørnstad, Ødegård, Strøm,
        Mæland, Þórsson, Gunnarsdóttir, Åberg, Håkansson, Kjær, Løvås, Jónsson"""),
}

# Vietnamese middle names (HR often keeps them; PodFactory rarely does).
VN_MIDDLE = _w("Van, Thi, Duc, Minh, Ngoc, Thanh, Quoc, Huu, Xuan, Hong")

ORIGIN_WEIGHTS = {"english": 30, "hispanic": 26, "vietnamese": 10, "chinese": 7,
                  "indian": 9, "polish": 7, "turkish": 5, "nordic": 6}

# Name variants: formal -> what a person is called on the floor.  A draw
# replaces the given name by one of these (FEBRL's "replace by a value from a
# lookup table" operator); variants are not reversible (Bill is several Wills).
NICKNAMES = {
    "William": ["Bill", "Will", "Billy", "Liam"], "Robert": ["Bob", "Rob", "Bobby", "Robbie"],
    "Elizabeth": ["Liz", "Beth", "Betty", "Eliza", "Lisa"], "Katherine": ["Kate", "Kathy", "Katie", "Kat"],
    "Margaret": ["Maggie", "Peggy", "Meg"], "Richard": ["Rick", "Dick", "Rich"],
    "James": ["Jim", "Jimmy", "Jamie"], "John": ["Jack", "Johnny"], "Michael": ["Mike", "Mikey"],
    "Jennifer": ["Jen", "Jenny", "Jenn"], "Patricia": ["Pat", "Patty", "Trish"],
    "Christopher": ["Chris", "Topher"], "Daniel": ["Dan", "Danny"], "Matthew": ["Matt"],
    "Anthony": ["Tony"], "Donald": ["Don", "Donnie"], "Steven": ["Steve"], "Andrew": ["Andy", "Drew"],
    "Joshua": ["Josh"], "Kenneth": ["Ken", "Kenny"], "Timothy": ["Tim", "Timmy"],
    "Ronald": ["Ron", "Ronnie"], "Jeffrey": ["Jeff"], "Deborah": ["Debbie", "Deb"],
    "Rebecca": ["Becky", "Becca"], "Samuel": ["Sam", "Sammy"], "Alexander": ["Alex", "Xander"],
    "Benjamin": ["Ben", "Benny"], "Jacqueline": ["Jackie"], "Nicholas": ["Nick", "Nicky"],
    "Victoria": ["Vicky", "Tori"], "Gregory": ["Greg"], "Christine": ["Chris", "Tina"],
    "Jonathan": ["Jon", "Johnny"], "Abigail": ["Abby"], "Zachary": ["Zach", "Zack"],
    "Kimberly": ["Kim"], "Amanda": ["Mandy"], "Melissa": ["Missy", "Mel"], "Susan": ["Sue", "Suzy"],
    "Dorothy": ["Dot", "Dottie"], "Barbara": ["Barb", "Babs", "Basia"], "Sandra": ["Sandy"],
    "Harold": ["Harry", "Hal"], "Gwendolyn": ["Gwen"], "Joseph": ["Joe", "Joey"],
    "Thomas": ["Tom", "Tommy"], "Charles": ["Charlie", "Chuck"], "David": ["Dave"],
    "Emily": ["Em", "Emmy"], "Ashley": ["Ash"], "Nancy": ["Nan"], "Carol": ["Carrie"],
    "José": ["Pepe", "Joe"], "Francisco": ["Paco", "Pancho", "Frank"], "Guadalupe": ["Lupe", "Lupita"],
    "Jesús": ["Chuy", "Jesse"], "Alejandro": ["Alex", "Ale"], "Alejandra": ["Alex", "Ale"],
    "Eduardo": ["Lalo", "Eddie"], "Roberto": ["Beto", "Bob"], "Enrique": ["Kike", "Henry"],
    "Manuel": ["Manny", "Manolo"], "Ricardo": ["Rick", "Richie"], "Fernando": ["Nando", "Fern"],
    "Javier": ["Javi"], "Graciela": ["Chela", "Grace"], "Antonio": ["Tony", "Toño"],
    "María": ["Mary", "Mari"], "Juan": ["John", "Juanito"], "Jorge": ["George"],
    "Katarzyna": ["Kasia", "Kate"], "Małgorzata": ["Gosia", "Margaret", "Małgosia"],
    "Aleksander": ["Olek", "Alex"], "Krzysztof": ["Krzyś", "Chris"], "Wojciech": ["Wojtek"],
    "Przemysław": ["Przemek"], "Stanisław": ["Staszek", "Stan"], "Bartłomiej": ["Bartek", "Bart"],
    "Łukasz": ["Luke"], "Paweł": ["Paul"], "Piotr": ["Peter"], "Tomasz": ["Tomek", "Tom"],
    "Michał": ["Michael", "Mike"], "Grzegorz": ["Greg", "Grzesiek"],
    "Venkatesh": ["Venky", "Venkat"], "Srinivas": ["Srini", "Cheenu"], "Lakshmi": ["Lucky"],
    "Aishwarya": ["Ash", "Aishu"], "Rajesh": ["Raj"], "Krishna": ["Kris"], "Priya": ["Pri"],
    "Mustafa": ["Musti"], "Mehmet": ["Memo", "Mike"], "Hüseyin": ["Hüso"], "İbrahim": ["Ibo"],
    "Magnús": ["Maggi"], "Kristín": ["Stína"], "Henrik": ["Henke"], "Mikael": ["Micke"],
    "Xiaoling": ["Ling", "Linda"], "Zhiwei": ["Wei", "David"],
    # Adopted English names (no lexical link at all): see ADOPTED.
    "Anh": ["Andy", "Annie"], "Tuan": ["Tony"], "Huong": ["Helen"], "Minh": ["Mike", "Mindy"],
    "Thao": ["Tina"], "Wei": ["William", "Wayne"], "Jing": ["Jenny"], "Fang": ["Fiona"],
    "Lei": ["Ray"], "Qiang": ["Kevin"], "Jun": ["June"], "Khoa": ["Kevin"], "Long": ["Larry"],
}

# Given names whose variants above have no lexical link to them.
ADOPTED = {"Anh", "Tuan", "Huong", "Minh", "Thao", "Wei", "Jing", "Fang", "Lei", "Qiang", "Jun",
           "Khoa", "Long", "Zhiwei", "Xiaoling", "Mehmet", "Juan", "Jorge", "Paweł", "Piotr",
           "Łukasz", "Francisco", "Enrique", "Małgorzata", "Katarzyna", "Srinivas", "Lakshmi"}

# FEBRL's typographic-error model: substitutions favour the QWERTY neighbours.
KEYBOARD = {}
for _row in ("qwertyuiop", "asdfghjkl", "zxcvbnm"):
    for _i, _c in enumerate(_row):
        KEYBOARD[_c] = (_row[_i - 1] if _i else "") + (_row[_i + 1] if _i + 1 < len(_row) else "")
for _up, _down in zip("qwertyuiopasdfghjkl", "asdfghjklzxcvbnm"):
    KEYBOARD[_up] += _down
    KEYBOARD[_down] += _up

# FEBRL's OCR-error table: glyphs a scanner or a tired typist confuses.
OCR = [("m", "rn"), ("rn", "m"), ("l", "1"), ("i", "l"), ("O", "0"), ("o", "0"), ("cl", "d"),
       ("d", "cl"), ("vv", "w"), ("w", "vv"), ("h", "b"), ("e", "c"), ("S", "5"), ("B", "8"),
       ("g", "q"), ("u", "v"), ("n", "ri"), ("I", "l"), ("a", "o"), ("Z", "2")]

# FEBRL's phonetic-variation rules (a small subset of its table): spellings
# that sound alike.  Each pair applies both ways.
PHONETIC = [("ph", "f"), ("ck", "k"), ("ie", "y"), ("ei", "ie"), ("c", "k"), ("z", "s"),
            ("th", "t"), ("ou", "u"), ("ee", "i"), ("y", "i"), ("kh", "k"), ("sh", "sch"),
            ("j", "g"), ("v", "b"), ("qu", "kw"), ("x", "ks"), ("ll", "l"), ("nn", "n"),
            ("ss", "s"), ("tt", "t"), ("mm", "m"), ("ah", "a"), ("ph", "p"), ("w", "v")]

# Transliterations of letters beyond ASCII, as people type them on a US keyboard
# (ł->l, ø->o or oe, ß->ss, ı->i, ...); plain accent stripping is separate.
TRANSLIT = {"ł": ["l"], "Ł": ["L"], "ø": ["o", "oe"], "Ø": ["O", "Oe"], "æ": ["ae", "a"],
            "Æ": ["Ae", "A"], "ß": ["ss"], "ı": ["i"], "İ": ["I"], "ş": ["s", "sh"], "Ş": ["S", "Sh"],
            "ğ": ["g", ""], "ç": ["c", "ch"], "Ç": ["C", "Ch"], "ö": ["o", "oe"], "Ö": ["O", "Oe"],
            "ü": ["u", "ue"], "å": ["a", "aa"], "Å": ["A", "Aa"], "þ": ["th"], "Þ": ["Th"],
            "ð": ["d"], "ñ": ["n", "ny"], "ż": ["z"], "Ż": ["Z"], "ź": ["z"], "ś": ["s"], "ą": ["a"],
            "ę": ["e"], "ć": ["c"], "ń": ["n"], "ó": ["o"], "í": ["i"], "á": ["a"], "é": ["e"],
            "ú": ["u"], "Á": ["A"], "É": ["E"]}

DEPARTMENTS = _w("""Printing, Packing, Shipping, Receiving, Embroidery, Heat Press, Quality,
    Maintenance, Screen Print, DTG, Customer Service, Warehouse, Inventory, Finance, HR, IT""")
ROLES = ["operator"] * 12 + ["lead"] * 3 + ["supervisor", "manager", "technician", "clerk"]
WORKSPACES = ["Plant A", "Plant B", "Plant C", "Annex"]
PF_ROLES = ["operator"] * 10 + ["packer"] * 3 + ["shipper"] * 2 + ["lead", "supervisor", "admin"]
COMPANY = "inkwell-apparel.com"
PERSONAL = ["gmail.com"] * 6 + ["yahoo.com"] * 3 + ["hotmail.com"] * 2 + ["outlook.com", "icloud.com", "aol.com"]
STATION_SUFFIXES = ["shp", "hp", "pack", "pick", "ship"]
NOISE_DOMAINS = ["staffmark-temps.com", "gmail.com", "yahoo.com"]

# ---------------------------------------------------------------------------
# Noise rates.  Name operators: a duplicate gets 0-3 of them (MODS), each
# drawn in proportion to its weight (FEBRL's per-field probabilities).
# Email modes: one per duplicate, drawn by weight.  Every value is
# overridable with --rate NAME=VALUE.
# ---------------------------------------------------------------------------

DEFAULT_RATES: dict[str, float] = {
    # structure
    "pf_share": 0.78,            # employees that have a PodFactory user
    "inactive": 0.09,            # employees who left (their PF user often stays)
    "namesake": 0.10,            # employees sharing a full name with another
    "renamed": 0.02,             # employees renamed in HR (previous_names kept)
    "mixed_origin": 0.10,        # given and surname from different origins
    "middle_name": 0.12,         # HR keeps a middle name
    "two_surnames": 0.30,        # Hispanic employees with paternal + maternal surname
    "family_first": 0.40,        # Vietnamese/Chinese HR names stored family name first
    "role_agrees": 0.70,         # PF user_role agrees with HR department/role
    "non_employees": 0.06,       # PF users with no employee (share of all PF users)
    "temp_lookalike": 0.10,      # temps whose name an employee's name fits (Jessica Johnson
                                 # beside employee Jessica M. Johnson), never an exact namesake
    # modifications per duplicate: P(0), P(1), P(2), P(3)
    "mods0": 0.30, "mods1": 0.36, "mods2": 0.22, "mods3": 0.12,
    # name operators (relative weights)
    "op_typo_given": 10, "op_typo_surname": 10, "op_typo_both": 5, "op_ocr": 3,
    "op_phonetic": 6, "op_nickname": 8, "op_translit": 6, "op_missing_given": 2,
    "op_missing_surname": 3, "op_initial_given": 4, "op_initial_surname": 2,
    "op_swap": 4, "op_surname_comma": 4, "op_caps": 5, "op_lower": 3, "op_login": 5,
    "op_drop_middle": 4, "op_drop_second_surname": 4, "op_reorder_asian": 4,
    "op_add_middle_initial": 2,
    # email modes (relative weights)
    "em_corporate": 38, "em_corporate_case": 4, "em_station": 12, "em_plus_tag": 3,
    "em_personal": 16, "em_personal_typo": 4, "em_none": 20, "em_shared": 1.2,
    "em_corporate_typo": 1.8,
}


def fold(s: str) -> str:
    """ASCII-fold the way a US keyboard user writes the name in an email."""
    out = []
    for ch in s:
        if ch in TRANSLIT:
            out.append(TRANSLIT[ch][0])
        else:
            out.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode())
    return "".join(out)


def email_token(s: str) -> str:
    return "".join(c for c in fold(s).lower() if c.isalnum())


@dataclass
class Person:
    given: str
    surname: str                 # may hold two words (two surnames, "De la Cruz")
    origin: str
    middle: str = ""
    family_first: bool = False

    def display(self) -> str:
        if self.family_first:   # Nguyen Van Anh: family, middle, given
            return " ".join(x for x in (self.surname, self.middle, self.given) if x)
        return " ".join(x for x in (self.given, self.middle, self.surname) if x)


@dataclass
class Employee:
    id: int
    person: Person
    email: str
    department: str
    is_active: bool
    role: str
    workspace: str
    previous: list[str] = field(default_factory=list)
    old_person: Person | None = None
    old_email: str = ""


class Generator:
    def __init__(self, seed: int, n: int, no_emails: bool, rates: dict[str, float]):
        self.rng = random.Random(seed)
        self.n = n
        self.no_emails = no_emails
        self.r = rates
        self.employees: list[Employee] = []
        self.pf: list[dict] = []
        self.emails: set[str] = set()
        self.by_name: dict[str, list[Employee]] = {}
        self.taken_names: set[str] = set()
        self._name_words: list[frozenset[str]] | None = None
        self._word_index: dict[str, set[int]] | None = None
        self.employees_by_id: dict[int, Employee] = {}

    # -- draws ---------------------------------------------------------------

    def zipf(self, items: list[str]) -> str:
        return self.rng.choices(items, weights=[1 / (i + 1) ** 0.8 for i in range(len(items))])[0]

    def origin(self) -> str:
        return self.rng.choices(list(ORIGIN_WEIGHTS), weights=list(ORIGIN_WEIGHTS.values()))[0]

    def person(self) -> Person:
        rng, r = self.rng, self.r
        o = self.origin()
        given = self.zipf(GIVEN[o])
        so = self.origin() if rng.random() < r["mixed_origin"] else o
        surname = self.zipf(SURNAME[so])
        p = Person(given, surname, o)
        if o == "hispanic" and so == o and rng.random() < r["two_surnames"]:
            second = self.zipf(SURNAME["hispanic"])
            if second != surname:
                p.surname = f"{surname} {second}"
        if o == "vietnamese" and rng.random() < 0.6:
            p.middle = rng.choice(VN_MIDDLE)
        elif o in ("english", "hispanic", "polish", "nordic") and rng.random() < r["middle_name"]:
            p.middle = self.zipf(GIVEN[o])
            if p.middle == given:
                p.middle = ""
        if o in ("vietnamese", "chinese") and rng.random() < r["family_first"]:
            p.family_first = True
        return p

    def corporate_email(self, p: Person) -> str:
        base = f"{email_token(p.given)}.{surname_token(p.surname)}"
        email, k = f"{base}@{COMPANY}", 1
        while email in self.emails:
            k += 1
            email = f"{base}{k}@{COMPANY}"
        self.emails.add(email)
        return email

    # -- employees -----------------------------------------------------------

    def make_employees(self) -> None:
        rng, r = self.rng, self.r
        # Originals are distinct people (FEBRL draws originals, then makes
        # duplicates); namesakes are added below at the configured rate, so a
        # redraw avoids accidental full-name collisions from the small pools.
        seen: set[str] = set()
        for i in range(self.n):
            for _ in range(50):
                p = self.person()
                key = norm_name(f"{p.given} {p.surname}")
                if key not in seen:
                    break
            seen.add(key)
            e = Employee(100000 + i * 7 + rng.randrange(7), p, "", rng.choice(DEPARTMENTS),
                         rng.random() >= r["inactive"], rng.choice(ROLES), rng.choice(WORKSPACES))
            self.employees.append(e)
        # Namesakes: copy another employee's full name, in another department.
        k = int(self.n * r["namesake"] / 2)
        picks = rng.sample(range(self.n), 2 * k)
        for a, b in zip(picks[:k], picks[k:]):
            src, dst = self.employees[a], self.employees[b]
            dst.person = Person(src.person.given, src.person.surname, src.person.origin,
                                src.person.middle, src.person.family_first)
            while dst.department == src.department:
                dst.department = rng.choice(DEPARTMENTS)
        for e in self.employees:
            e.email = self.corporate_email(e.person)
        # Renamed (e.g. marriage): HR now has a new surname and email, keeps the old name.
        for e in rng.sample(self.employees, int(self.n * r["renamed"])):
            old = e.person
            e.old_person, e.old_email = old, e.email
            e.previous = [old.display()]
            e.person = Person(old.given, self.zipf(SURNAME[self.origin()]), old.origin, old.middle)
            e.email = self.corporate_email(e.person)
        self.employees_by_id = {e.id: e for e in self.employees}
        for e in self.employees:
            self.by_name.setdefault(norm_name(e.person.display()), []).append(e)
        # A temp is never named exactly as an employee is or was.
        self.taken_names = set(self.by_name) | {norm_name(n) for e in self.employees for n in e.previous}

    # -- name noise (FEBRL operators) ------------------------------------------

    def typo(self, s: str) -> tuple[str, str]:
        rng = self.rng
        if len(s) < 2:
            return s, ""
        i = rng.randrange(len(s))
        kind = rng.choice(["insert", "delete", "substitute", "transpose"])
        if kind == "insert":
            c = s[i].lower()
            ch = rng.choice(KEYBOARD.get(c, "") or "aeinrst") if rng.random() < 0.5 else c
            return s[:i + 1] + ch + s[i + 1:], kind
        if kind == "delete":
            if i == 0:
                i = 1
            return s[:i] + s[i + 1:], kind
        if kind == "substitute":
            i = max(i, 1)
            c = s[i].lower()
            nb = KEYBOARD.get(c)
            if not nb:
                return s[:i] + s[i + 1:], "delete"
            return s[:i] + rng.choice(nb) + s[i + 1:], kind
        i = min(max(i, 1), len(s) - 2)
        if s[i] == s[i + 1]:
            return s[:i] + s[i + 1:], "delete"
        return s[:i] + s[i + 1] + s[i] + s[i + 2:], kind

    def replace_rule(self, s: str, table: list[tuple[str, str]], both_ways: bool) -> str | None:
        rng = self.rng
        opts = []
        for a, b in table:
            if a in s:
                opts.append((a, b))
            if both_ways and b in s:
                opts.append((b, a))
        if not opts:
            return None
        a, b = rng.choice(opts)
        starts = [i for i in range(len(s)) if s.startswith(a, i)]
        i = rng.choice(starts)
        return s[:i] + b + s[i + len(a):]

    def translit(self, s: str) -> str | None:
        if not any(ch in TRANSLIT or unicodedata.combining(unicodedata.normalize("NFD", ch)[-1])
                   for ch in s):
            return None
        out = []
        for ch in s:
            if ch in TRANSLIT:
                out.append(self.rng.choice(TRANSLIT[ch]))
            else:
                out.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode() or ch)
        return "".join(out)

    def noisy_name(self, e: Employee, use_old: bool) -> tuple[str, list[str], dict]:
        """The employee's name as PodFactory has it, the tags applied, and the
        name the person goes by (their own personal email spells that, with
        typos of its own, not the admin's)."""
        rng, r = self.rng, self.r
        p = e.old_person if use_old and e.old_person else e.person
        given, middle, surname = p.given, p.middle, p.surname
        family_first = p.family_first
        tags: list[str] = []
        nmods = rng.choices([0, 1, 2, 3], weights=[r["mods0"], r["mods1"], r["mods2"], r["mods3"]])[0]
        ops = {k[3:]: v for k, v in r.items() if k.startswith("op_")}
        chosen: list[str] = []
        while len(chosen) < nmods and len(chosen) < len(ops):
            op = rng.choices(list(ops), weights=list(ops.values()))[0]
            if op not in chosen:
                chosen.append(op)
        # PodFactory admins usually type the name the person goes by: middle
        # names are often left out even without an explicit operator.
        if middle and rng.random() < 0.5 and "add_middle_initial" not in chosen:
            middle = ""
        called = given
        fmt = {"swap": False, "comma": False, "caps": False, "lower": False, "login": False}
        content_order = ["nickname", "translit", "drop_middle", "drop_second_surname",
                         "reorder_asian", "add_middle_initial", "phonetic", "ocr", "typo_given",
                         "typo_surname", "typo_both", "initial_given", "initial_surname",
                         "missing_given", "missing_surname"]
        for op in content_order:
            if op not in chosen:
                continue
            if op == "nickname":
                v = NICKNAMES.get(given)
                if v:
                    given = called = rng.choice(v)
                    tags.append("name:nickname")
            elif op == "translit":
                g2, s2 = self.translit(given), self.translit(surname)
                if g2 is not None or s2 is not None:
                    given, surname = g2 or given, s2 or surname
                    tags.append("name:diacritics")
            elif op == "drop_middle":
                if p.middle and middle:
                    middle = ""
                    tags.append("name:drop-middle")
            elif op == "drop_second_surname":
                if " " in surname and surname.split()[0] not in ("De", "Del"):
                    parts = surname.split()
                    surname = parts[0] if rng.random() < 0.8 else parts[1]
                    tags.append("name:one-surname")
            elif op == "reorder_asian":
                if p.origin in ("vietnamese", "chinese"):
                    family_first = not family_first
                    if p.origin == "vietnamese":
                        middle = ""
                    tags.append("name:family-order")
            elif op == "add_middle_initial":
                if p.middle:
                    middle = p.middle[0] + "."
                    tags.append("name:middle-initial")
            elif op == "phonetic":
                tgt = rng.choice(["given", "surname"])
                s = given if tgt == "given" else surname
                v = self.replace_rule(s.lower(), PHONETIC, True)
                if v and v != s.lower():
                    v = v[0].upper() + v[1:]
                    given, surname = (v, surname) if tgt == "given" else (given, v)
                    tags.append(f"name:phonetic-{tgt}")
            elif op == "ocr":
                tgt = rng.choice(["given", "surname"])
                s = given if tgt == "given" else surname
                v = self.replace_rule(s, OCR, False)
                if v and v != s:
                    given, surname = (v, surname) if tgt == "given" else (given, v)
                    tags.append(f"name:ocr-{tgt}")
            elif op in ("typo_given", "typo_surname", "typo_both"):
                if op in ("typo_given", "typo_both"):
                    given, _ = self.typo(given)
                if op in ("typo_surname", "typo_both"):
                    surname, _ = self.typo(surname)
                tags.append("name:" + op.replace("_", "-"))
            elif op == "initial_given":
                given = given[0] + "."
                middle = ""
                tags.append("name:initial-given")
            elif op == "initial_surname":
                surname = surname[0] + "."
                tags.append("name:initial-surname")
            elif op == "missing_given" and "missing_surname" not in tags:
                given, middle = "", ""
                tags.append("name:missing-given")
            elif op == "missing_surname" and "name:missing-given" not in tags:
                surname = ""
                tags.append("name:missing-surname")
        fmt["swap"] = "swap" in chosen
        fmt["comma"] = "surname_comma" in chosen
        fmt["caps"] = "caps" in chosen
        fmt["lower"] = "lower" in chosen and not fmt["caps"]
        fmt["login"] = "login" in chosen
        first = " ".join(x for x in (given, middle) if x)
        if fmt["login"] and given and surname:
            sep = rng.choice([".", "_", ".", ""])
            a, b = email_token(given), surname_token(surname)
            name = f"{b}{sep}{a}" if fmt["swap"] else f"{a}{sep}{b}"
            tags.append("name:login")
            if fmt["swap"]:
                tags.append("name:swapped")
        elif fmt["comma"] and given and surname:
            name = f"{surname}, {first}"
            tags.append("name:surname-comma")
        else:
            ff = family_first != fmt["swap"]
            if fmt["swap"] and given and surname:
                tags.append("name:swapped")
            order = (surname, middle, given) if ff else (given, middle, surname)
            name = " ".join(x for x in order if x)
        if fmt["caps"] and not fmt["login"]:
            name = name.upper()
            tags.append("name:caps")
        elif fmt["lower"] and not fmt["login"]:
            name = name.lower()
            tags.append("name:lower")
        if not tags:
            tags.append("name:clean")
        if use_old:
            tags.append("name:previous")
        return name, tags, {"given": called, "surname": p.surname}

    # -- email noise -----------------------------------------------------------

    def personal_email(self, given: str, surname: str, typo: bool) -> str:
        rng = self.rng
        g, s = email_token(given), surname_token(surname)
        if typo and len(g) > 2:
            g = email_token(self.typo(g)[0])
        if typo and len(s) > 2 and rng.random() < 0.5:
            s = email_token(self.typo(s)[0])
        digits = str(rng.choice([rng.randrange(1, 100), rng.randrange(100, 1000), rng.randrange(1970, 2006)]))
        pattern = rng.choice(["{g}{s}#", "{g}.{s}#", "{g}_{s}#", "{g}{s}#", "{i}{s}#", "{s}{g}#",
                              "{g}#", "{s}.{g}"])
        if "#" in pattern and "{s}" in pattern and rng.random() < 0.15:
            pattern = pattern.replace("#", "")
        local = pattern.format(g=g, s=s, i=g[:1]).replace("#", digits).strip("._")
        local = local if len(local) > 3 else f"{local}{digits}"
        return f"{local}@{rng.choice(PERSONAL)}"

    def noisy_email(self, e: Employee, parts: dict, use_old: bool) -> tuple[str, str, str]:
        """email, tag, shared-with employee id (for a shared login)."""
        rng, r = self.rng, self.r
        modes = {k[3:]: v for k, v in r.items() if k.startswith("em_")}
        mode = rng.choices(list(modes), weights=list(modes.values()))[0]
        base = e.old_email if use_old and e.old_email else e.email
        local, domain = base.split("@")
        if mode == "corporate":
            return base, "email:corporate", ""
        if mode == "corporate_case":
            return ".".join(x.capitalize() for x in local.split(".")) + "@" + domain.capitalize(), \
                "email:corporate-case", ""
        if mode == "station":
            suf = rng.choice(STATION_SUFFIXES)
            form = rng.choice(["after", "after", "numbered", "before"])
            if form == "after":
                local = f"{local}.{suf}"
            elif form == "numbered":
                local = f"{local}.{suf}{rng.randrange(1, 5)}"
            else:
                local = f"{suf}.{local}"
            return f"{local}@{domain}", f"email:station-{form}", ""
        if mode == "plus_tag":
            return f"{local}+{rng.choice(['pack', 'line2', 'night', 'shp', 'pf'])}@{domain}", "email:plus-tag", ""
        if mode in ("personal", "personal_typo"):
            return (self.personal_email(parts["given"], parts["surname"], mode == "personal_typo"),
                    "email:" + mode.replace("_", "-"), "")
        if mode == "shared":
            other = rng.choice(self.employees)
            if other is not e:
                return other.email, "email:other-employee", str(other.id)
            return base, "email:corporate", ""
        if mode == "corporate_typo":
            # A login created before HR fixed the address (typo'd or outdated).
            for _ in range(20):
                bad = self.typo(local)[0].lower()
                if f"{bad}@{domain}" not in self.emails and bad != local:
                    return f"{bad}@{domain}", "email:corporate-typo", ""
            return base, "email:corporate", ""
        return "", "email:none", ""

    # -- PodFactory users ------------------------------------------------------

    def make_pf(self) -> None:
        rng, r = self.rng, self.r
        for e in self.employees:
            share = r["pf_share"] * (0.8 if not e.is_active else 1.0)
            if rng.random() >= share:
                continue
            use_old = bool(e.old_person) and rng.random() < 0.7
            name, tags, parts = self.noisy_name(e, use_old)
            email, etag, shared = self.noisy_email(e, parts, use_old)
            tags.append(etag)
            if len(self.by_name.get(norm_name(e.person.display()), [])) > 1:
                tags.append("namesake")
            if not e.is_active:
                tags.append("inactive")
            note = f"login belongs to employee {shared}" if shared else ""
            self.pf.append({"name": name, "email": email, "role": self.pf_role(e),
                            "truth": e.id, "category": "employee", "tags": tags, "note": note,
                            "emp": e})
        n_non = int(len(self.pf) * r["non_employees"] / (1 - r["non_employees"]))
        for _ in range(n_non):
            self.pf.append(self.non_employee())

    def pf_role(self, e: Employee) -> str:
        """PodFactory's user_role follows the HR department and role for
        most users (role_agrees), and is stale or generic for the rest
        (people move between stations; admins pick a default)."""
        rng = self.rng
        if rng.random() >= self.r["role_agrees"]:
            return rng.choice(PF_ROLES)
        if e.role in ("supervisor", "manager"):
            return "supervisor"
        if e.role == "lead":
            return "lead"
        return {"Packing": "packer", "Shipping": "shipper", "Receiving": "shipper",
                "IT": "admin"}.get(e.department, "operator")

    def non_employee(self) -> dict:
        rng = self.rng
        kind = rng.choices(["temp", "station", "test", "kiosk"], weights=[55, 20, 15, 10])[0]
        if kind == "temp":
            # A real person from a staffing agency: a name drawn from the same
            # tables, never an employee's full name.
            # A share of them (temp_lookalike) on purpose is one an employee's
            # name fits; the rest are redrawn until none does.
            want = rng.random() < self.r["temp_lookalike"]
            for _ in range(200):
                p = self.person()
                p.middle = ""
                if norm_name(p.display()) not in self.taken_names and self.lookalike(p.display()) == want:
                    break
            name = p.display()
            tags = ["lookalike"] if self.lookalike(name) else []
            email = rng.choice(["", self.personal_email(p.given, p.surname, False),
                                f"{email_token(p.given)[0]}{email_token(p.surname)}@{NOISE_DOMAINS[0]}"])
            note = "temp from an agency" + ("; an employee's name fits it" if tags else "")
        elif kind == "station":
            st = rng.choice(["Pack", "Ship", "Print", "DTG", "Heat Press", "Embroidery", "QC"])
            n = rng.randrange(1, 30)
            name = rng.choice([f"{st} Station {n}", f"{st.upper()}-{n:02d}", f"{st} Line {n}"])
            email = rng.choice(["", f"{email_token(st)}{n}@{COMPANY}", f"station{n}.{email_token(st)}@{COMPANY}"])
            note = "shared station login"
            tags = []
        elif kind == "test":
            name = rng.choice(["Test User", "QA Tester", "Test Operator", "Demo Account",
                               "Training User", "test.admin", "Admin Admin"]) + \
                rng.choice(["", "", f" {rng.randrange(1, 10)}"])
            email = rng.choice(["", f"test{rng.randrange(1, 50)}@{COMPANY}", f"qa+{rng.randrange(100)}@{COMPANY}"])
            note = "test account"
            tags = []
        else:
            name = rng.choice(["Kiosk", "Visitor", "Floor Kiosk", "Break Room Kiosk", "Guest"]) + \
                f" {rng.randrange(1, 9)}"
            email = ""
            note = "kiosk or visitor"
            tags = []
        return {"name": name, "email": email, "role": rng.choice(PF_ROLES), "truth": None,
                "category": kind, "tags": tags, "note": note, "emp": None}

    def lookalike(self, name: str) -> bool:
        """A temp whose name is one an employee could appear under in
        PodFactory: the same words as an employee's current or previous
        name, or all of them
        within it or it within them (middle names and second surnames are
        often left out).  Such temps are kept (agencies do send namesakes)
        and tagged, so wrong links to them can be told apart."""
        words = frozenset(email_token(w) for w in name.split())
        if self._name_words is None:
            self._name_words = [frozenset(email_token(w) for w in n.split())
                                for e in self.employees for n in [e.person.display()] + e.previous]
        return any(len(words & ew) >= 2 and (words <= ew or ew <= words) for ew in self._name_words)

    # -- the "hopeless" ceiling --------------------------------------------------

    def hopeless(self, row: dict) -> str:
        """Why no matcher can get this pair from the evidence, or ''.

        Email evidence counts when it is the employee's corporate address in
        any form (station, +tag, case); a personal address that spells the
        full name restores a cut name (but not against a namesake).  Without it, the name must point at
        the true employee alone: it cannot when a namesake shares the full
        name, or when what is left of the name (a single part, an initial)
        is shared by another employee, or when the given name was replaced
        by an unrelated adopted name and another employee fits as well.
        """
        tags = row["tags"]
        e: Employee = row["emp"]
        email_ok = any(t in tags for t in ("email:corporate", "email:corporate-case", "email:plus-tag",
                                           "email:station-after", "email:station-numbered",
                                           "email:station-before")) and not self.no_emails
        if email_ok:
            return ""
        p = e.old_person if "name:previous" in tags and e.old_person else e.person
        if "namesake" in tags:
            return "namesake and no email evidence"
        if self.spelled_by_email(row, p):
            return ""   # a personal address spelling the full name restores it
        if "name:nickname" in tags and p.given in ADOPTED:
            same = [x for x in self.employees if x.person.surname == p.surname]
            if len(same) > 1:
                return "adopted given name, surname shared by others"
        if "name:missing-given" in tags:
            same = [x for x in self.employees if x.person.surname == p.surname]
            if len(same) > 1:
                return "only the surname left, shared by others"
        if "name:missing-surname" in tags:
            same = [x for x in self.employees if x.person.given == p.given]
            if len(same) > 1:
                return "only the given name left, shared by others"
        if "name:initial-given" in tags:
            same = [x for x in self.employees
                    if x.person.surname == p.surname and x.person.given[:1] == p.given[:1]]
            if len(same) > 1:
                return "initial + surname shared by others"
        if "name:initial-surname" in tags:
            same = [x for x in self.employees
                    if x.person.given == p.given and x.person.surname[:1] == p.surname[:1]]
            if len(same) > 1:
                return "given + surname initial shared by others"
        return ""

    @staticmethod
    def spelled_by_email(row: dict, p: Person) -> bool:
        """A personal address whose local part spells the given name and the
        surname (rubymasoin65@): the name is recoverable from it."""
        local = row["email"].split("@")[0].lower()
        return bool(local) and email_token(p.given) in local and surname_token(p.surname) in local

    def undecidable(self, row: dict, name: str) -> bool:
        """No email evidence, and another employee's name holds every word
        of the true employee's name that the PodFactory name kept (typo'd
        words and common nicknames count as kept; an initial keeps its letter): e.g. PodFactory
        "Luis Hernández" beside employees "Luis Hernández" and "Luis Miguel
        Hernández".  The true one is likelier, not certain, so a careful
        matcher may call these ambiguous.  Wider than `hopeless`."""
        e: Employee = row["emp"]
        p = e.old_person if "name:previous" in row["tags"] and e.old_person else e.person
        if self._word_index is None:
            self._word_index = {}
            for x in self.employees:
                for w in {email_token(t) for t in x.person.display().split()}:
                    self._word_index.setdefault(w, set()).add(x.id)
        true_words = sorted({email_token(t) for t in p.display().split()})   # sorted: no hash order
        pf_words = [email_token(t) for t in name.replace(",", " ").replace(".", " ").replace("_", " ").split()]
        if self.spelled_by_email(row, p):
            pf_words += [email_token(p.given), surname_token(p.surname)]
        if len(pf_words) == 1 and "name:login" in row["tags"]:
            pf_words = [w for w in true_words if w in pf_words[0]] or pf_words
        kept, initials = set(), []
        for w in pf_words:
            if len(w) == 1:
                initials.append(w)
                continue
            near = [t for t in true_words if t == w or (len(t) > 3 and edits(t, w) <= 2)]
            if not near and p.given not in ADOPTED and \
                    w in {email_token(v) for v in NICKNAMES.get(p.given, [])}:
                near = [email_token(p.given)]   # a nickname table links it
            kept.update(near[:1])
        if not kept:
            return True
        ids = set.intersection(*(self._word_index.get(w, set()) for w in kept))
        others = [self.employees_by_id[i] for i in ids if i != e.id]
        for o in others:
            rest = {email_token(t) for t in o.person.display().split()} - kept
            if all(any(r.startswith(i) for r in rest) for i in initials):
                return True
        return False

    # -- output ------------------------------------------------------------------

    def write(self, out: str) -> dict:
        rng = self.rng
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "employees.csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["id", "name", "email", "department", "is_active", "role", "workspace",
                        "previous_names"])
            for e in self.employees:
                w.writerow([e.id, e.person.display(), e.email, e.department,
                            "true" if e.is_active else "false", e.role, e.workspace,
                            ";".join(e.previous)])
        ids = rng.sample(range(1, 20 * len(self.pf)), len(self.pf))
        rows = sorted(zip(ids, self.pf), key=lambda t: t[0])
        stats = {"hopeless": 0, "undecidable": 0, "positives": 0, "reasons": {},
                 "lookalike": sum("lookalike" in r["tags"] for r in self.pf),
                 "temps": sum(r["category"] == "temp" for r in self.pf)}
        with open(os.path.join(out, "podfactory.csv"), "w", newline="", encoding="utf-8") as fp, \
                open(os.path.join(out, "truth.csv"), "w", newline="", encoding="utf-8") as ft, \
                open(os.path.join(out, "noise.csv"), "w", newline="", encoding="utf-8") as fn:
            wp, wt, wn = (csv.writer(x, lineterminator="\n") for x in (fp, ft, fn))
            wp.writerow(["id", "name", "email", "user_role"])
            wt.writerow(["podfactory_id", "employee_id"])
            wn.writerow(["podfactory_id", "category", "tags", "note"])
            for i, row in rows:
                pid = f"pf{i}"
                if self.no_emails:
                    row["tags"] = [t for t in row["tags"] if not t.startswith("email:")] + ["email:none"]
                    row["email"] = ""
                note = row["note"]
                if row["truth"] is not None:
                    stats["positives"] += 1
                    why = self.hopeless(row)
                    if why:
                        row["tags"].append("hopeless")
                        stats["hopeless"] += 1
                        stats["reasons"][why] = stats["reasons"].get(why, 0) + 1
                        note = (note + "; " if note else "") + "hopeless: " + why
                    email_ok = not self.no_emails and any(
                        t.startswith(("email:corporate", "email:station", "email:plus"))
                        and t != "email:corporate-typo" for t in row["tags"])
                    if not email_ok and self.undecidable(row, row["name"]):
                        row["tags"].append("undecidable")
                        stats["undecidable"] += 1
                wp.writerow([pid, row["name"], row["email"], row["role"]])
                wt.writerow([pid, "" if row["truth"] is None else row["truth"]])
                wn.writerow([pid, row["category"], " ".join(row["tags"]), note])
        return stats


def edits(a: str, b: str) -> int:
    """Levenshtein distance (small strings)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def surname_token(surname: str) -> str:
    """The surname as IT puts it in a login: the first of two Hispanic
    surnames, a particle kept with its name (De la Cruz -> delacruz)."""
    words = surname.split()
    if words and words[0] in ("De", "Del"):
        return email_token(surname)
    return email_token(words[0]) if words else ""


def norm_name(s: str) -> str:
    return " ".join(sorted(email_token(w) for w in s.split()))


def parse_rates(items: list[str]) -> dict[str, float]:
    rates = dict(DEFAULT_RATES)
    for item in items:
        k, _, v = item.partition("=")
        if k not in rates:
            sys.exit(f"unknown rate {k!r}; see --list-rates")
        try:
            rates[k] = float(v)
        except ValueError:
            sys.exit(f"rate {k} needs a number, got {v!r}")
    return rates


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--employees", type=int, default=6000)
    ap.add_argument("--out", default="out")
    ap.add_argument("--no-emails", action="store_true", help="PodFactory users carry no email")
    ap.add_argument("--rate", action="append", default=[], metavar="NAME=P",
                    help="override a noise rate or weight (repeatable)")
    ap.add_argument("--list-rates", action="store_true", help="print the rates and exit")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    rates = parse_rates(args.rate)
    if args.list_rates:
        for k, v in rates.items():
            print(f"{k}={v:g}")
        return 0
    g = Generator(args.seed, args.employees, args.no_emails, rates)
    g.make_employees()
    g.make_pf()
    stats = g.write(args.out)
    if not args.quiet:
        pos = stats["positives"]
        print(f"employees {len(g.employees)}, PodFactory users {len(g.pf)} "
              f"({pos} with a true employee, {len(g.pf) - pos} with none)")
        print(f"hopeless pairs (no evidence singles out the true employee): {stats['hopeless']} "
              f"= {stats['hopeless'] / pos:.2%} of pairs; ceiling on recall {1 - stats['hopeless'] / pos:.4f}")
        for why, n in sorted(stats["reasons"].items(), key=lambda kv: -kv[1]):
            print(f"  {n:5d}  {why}")
        print(f"undecidable pairs (no email evidence; another employee's name holds every word kept; "
              f"includes most hopeless): {stats['undecidable']} = {stats['undecidable'] / pos:.2%}")
        print(f"temps whose name an employee's name fits (tag lookalike): {stats['lookalike']} "
              f"of {stats['temps']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
