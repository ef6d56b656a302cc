//! The sample workforce: employees as the Productivity System has them
//! (departments over both workspaces, some inactive, names with diacritics,
//! apostrophes and hyphens), the PodFactory export the floor has for them,
//! and the Auth0 roles their role codes map to. The demo, the daemon's tests
//! and the whole-run benchmark use it.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rosterd_core::model::RawEmployee;
use std::collections::HashSet;

/// Department, role code, Auth0 role name.
pub const DEPARTMENTS: [(&str, &str, &str); 13] = [
    ("Picking", "PICKER", "Picker"),
    ("Packing", "PACKER", "Packer"),
    ("Shipping", "SHIPPER", "Shipper"),
    ("Heat Press", "HEAT_PRESS", "Heat Press Operator"),
    ("Printing", "PRINTER_OP", "Printer Operator"),
    ("Quality", "QC", "QC Inspector"),
    ("Maintenance", "MAINT_TECH", "Maintenance Technician"),
    ("Inventory", "INV_CLERK", "Inventory Clerk"),
    ("Receiving", "RECV_CLERK", "Receiving Clerk"),
    ("Customer Service", "CS_AGENT", "Customer Service"),
    ("Human Resources", "HR", "HR Generalist"),
    ("Production", "SHIFT_SUP", "Shift Supervisor"),
    ("Office", "OFFICE_ADMIN", "Office Admin"),
];

/// (display, ASCII for the email). Tricky on purpose: diacritics, ł/ø/ß,
/// apostrophes, hyphens, particles.
const FIRST: [(&str, &str); 40] = [
    ("James", "james"),
    ("María", "maria"),
    ("José", "jose"),
    ("Zoë", "zoe"),
    ("Łukasz", "lukasz"),
    ("Søren", "soren"),
    ("Nguyễn", "nguyen"),
    ("Aoife", "aoife"),
    ("Jean-Luc", "jean-luc"),
    ("Mary-Jane", "mary-jane"),
    ("Chloé", "chloe"),
    ("Björn", "bjorn"),
    ("Renée", "renee"),
    ("Dmitrii", "dmitrii"),
    ("Ayşe", "ayse"),
    ("Siobhán", "siobhan"),
    ("Luis", "luis"),
    ("Keisha", "keisha"),
    ("DeShawn", "deshawn"),
    ("Tomás", "tomas"),
    ("Ana", "ana"),
    ("Michael", "michael"),
    ("Jennifer", "jennifer"),
    ("Robert", "robert"),
    ("Linda", "linda"),
    ("William", "william"),
    ("Elizabeth", "elizabeth"),
    ("David", "david"),
    ("Patricia", "patricia"),
    ("Carlos", "carlos"),
    ("Guadalupe", "guadalupe"),
    ("Huong", "huong"),
    ("Olumide", "olumide"),
    ("Priya", "priya"),
    ("Mohammed", "mohammed"),
    ("Fatima", "fatima"),
    ("Katarzyna", "katarzyna"),
    ("Jürgen", "juergen"),
    ("Ingrid", "ingrid"),
    ("Kwame", "kwame"),
];

const LAST: [(&str, &str); 40] = [
    ("Smith", "smith"),
    ("Núñez", "nunez"),
    ("O'Brien", "obrien"),
    ("Wróbel", "wrobel"),
    ("Müller", "mueller"),
    ("Brontë", "bronte"),
    ("Ærøe", "aeroe"),
    ("Straße", "strasse"),
    ("García-López", "garcia-lopez"),
    ("d'Arcy", "darcy"),
    ("van der Berg", "vanderberg"),
    ("Nguyen", "nguyen"),
    ("Johnson", "johnson"),
    ("Williams", "williams"),
    ("Brown", "brown"),
    ("Jones", "jones"),
    ("Hernández", "hernandez"),
    ("Martínez", "martinez"),
    ("Davis", "davis"),
    ("Rodríguez", "rodriguez"),
    ("Wilson", "wilson"),
    ("Anderson", "anderson"),
    ("Thomas", "thomas"),
    ("Taylor", "taylor"),
    ("Moore", "moore"),
    ("Jackson", "jackson"),
    ("Lee", "lee"),
    ("Pérez", "perez"),
    ("Thompson", "thompson"),
    ("White", "white"),
    ("Harris", "harris"),
    ("Sánchez", "sanchez"),
    ("Clark", "clark"),
    ("Ramírez", "ramirez"),
    ("Lewis", "lewis"),
    ("Robinson", "robinson"),
    ("Walker", "walker"),
    ("Yılmaz", "yilmaz"),
    ("Kowalczyk", "kowalczyk"),
    ("Okafor", "okafor"),
];

pub const EMAIL_DOMAIN: &str = "podfactory-demo.com";

/// A deterministic workforce of `n` employees with ids from 1001.
/// About 7% are inactive; TX and MS workspaces split 60/40.
pub fn sample_workforce(n: usize, seed: u64) -> Vec<RawEmployee> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut emails = HashSet::new();
    (0..n)
        .map(|i| {
            let (first, first_ascii) = FIRST[rng.gen_range(0..FIRST.len())];
            let (last, last_ascii) = LAST[rng.gen_range(0..LAST.len())];
            let mut local = format!("{first_ascii}.{last_ascii}");
            let mut k = 2;
            while !emails.insert(local.clone()) {
                local = format!("{first_ascii}.{last_ascii}{k}");
                k += 1;
            }
            // Floor departments are where most people work.
            let d = if rng.gen_bool(0.75) {
                rng.gen_range(0..6)
            } else {
                rng.gen_range(6..DEPARTMENTS.len())
            };
            let (department, role_code, _) = DEPARTMENTS[d];
            RawEmployee {
                id: 1001 + i as i64,
                full_name: Some(format!("{first} {last}")),
                email: Some(format!("{local}@{EMAIL_DOMAIN}")),
                department: Some(department.to_string()),
                workspace: Some(if rng.gen_bool(0.6) { "TX" } else { "MS" }.to_string()),
                role_code: Some(role_code.to_string()),
                is_active: !rng.gen_bool(0.07),
                auth0_user_id: None,
            }
        })
        .collect()
}

/// A PodFactory export for the workforce, as the floor system has it: most
/// active employees, under the many shapes names and logins take there
/// (`john.doe`, `Doe, John`, station-suffixed emails, no email at all), and
/// a few people HR does not know.
pub fn podfactory_csv(workforce: &[RawEmployee], seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = String::from("id,name,email,user_role\n");
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut n = 0;
    for e in workforce.iter().filter(|e| e.is_active) {
        if rng.gen_bool(0.12) {
            continue; // office staff and new hires without a floor login
        }
        let name = e.full_name.clone().unwrap_or_default();
        let email = e.email.clone().unwrap_or_default();
        let (local, domain) = email.split_once('@').unwrap_or((&email, ""));
        let (first, last) = rosterd_core::plan::split_name(&name);
        let shown = match rng.gen_range(0..4) {
            0 => name.clone(),
            1 => format!("{last}, {first}"),
            2 => local.to_string(),
            _ => name.to_uppercase(),
        };
        let login = match rng.gen_range(0..4) {
            0 => email.clone(),
            1 => format!(
                "{local}.{}@{domain}",
                ["shp", "pack", "pick", "hp"][rng.gen_range(0..4)]
            ),
            2 => String::new(),
            _ => email.to_uppercase(),
        };
        n += 1;
        let role = e.department.clone().unwrap_or_default();
        out.push_str(&format!(
            "pf{n},{},{login},{}\n",
            quote(&shown),
            quote(&role)
        ));
    }
    for (i, (name, email)) in [
        ("Temp Worker 1", ""),
        ("Kiosk Station 3", "kiosk3@podfactory-demo.com"),
        ("Jordan Visitor", "jordan.v@gmail.example"),
    ]
    .iter()
    .enumerate()
    {
        out.push_str(&format!("px{},{},{email},Picker\n", i + 1, quote(name)));
    }
    out
}

/// The role mapping the demo (and the sample config) uses.
pub fn role_map() -> std::collections::BTreeMap<String, String> {
    DEPARTMENTS
        .iter()
        .map(|(_, code, name)| (code.to_string(), name.to_string()))
        .collect()
}
