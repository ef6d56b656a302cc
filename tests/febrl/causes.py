#!/usr/bin/env python3
"""The most common causes of wrong and missed pairs over several runs.

Usage: causes.py RUNS_DIR [--top 15]   (RUNS_DIR: run.sh's OUTDIR, one folder per run)
A cause is coarser than analyse.py's kinds: whether the pair is hopeless,
undecidable or decidable; the email evidence (corporate in any form,
personal, none, another employee's, a typo'd corporate); the content-changing
name noise (format-only noise such as caps or "SURNAME, Given" left out);
and whether a namesake exists.
"""
import collections, csv, os, sys
FMT={"name:caps","name:lower","name:surname-comma","name:swapped","inactive","name:clean","namesake","hopeless","undecidable","lookalike"}
def coarse(tags,cat):
    if cat!="employee": return f"no employee: {cat}"+(" (lookalike)" if "lookalike" in tags else "")
    em=[t for t in tags if t.startswith("email:")][0]
    em={"email:corporate-case":"email:corporate","email:station-after":"email:station","email:station-numbered":"email:station","email:plus-tag":"email:station","email:personal-typo":"email:personal"}.get(em,em)
    nm=sorted(t.replace("-given","").replace("-surname","") if t.startswith(("name:ocr","name:phonetic")) else t for t in tags if t.startswith("name:") and t not in FMT)
    flag="hopeless" if "hopeless" in tags else "undecidable" if "undecidable" in tags else "decidable"
    return f"[{flag}] {em} + {' '.join(nm) or 'name clean/format only'}"+(" +namesake" if "namesake" in tags else "")
W=collections.Counter();M=collections.Counter();exW={};exM={}
TOP = int(sys.argv[sys.argv.index('--top') + 1]) if '--top' in sys.argv else 15
os.chdir(sys.argv[1])
for d in sorted(os.listdir('.')):
    if not os.path.isdir(d): continue
    T={r['podfactory_id']:r['employee_id'] for r in csv.DictReader(open(d+'/truth.csv'))}
    Pr={r['podfactory_id']:r for r in csv.DictReader(open(d+'/predicted.csv'))}
    N={r['podfactory_id']:r for r in csv.DictReader(open(d+'/noise.csv'))}
    P={r['id']:r for r in csv.DictReader(open(d+'/podfactory.csv'))}
    E={r['id']:r for r in csv.DictReader(open(d+'/employees.csv'))}
    for p,t in T.items():
        pr=Pr[p]; link=pr['employee_id'] if pr['status']=='matched' else ''
        k=coarse(N[p]['tags'].split(),N[p]['category'])
        desc=f"{d}: PF {P[p]['name']!r} <{P[p]['email']}> [{P[p]['user_role']}]"
        if link and link!=t:
            W[k]+=1; exW.setdefault(k,[]).append(desc+f" -> {pr['matched_by']} {pr['confidence']} got {E[link]['name']!r} ({E[link]['department']})"+(f"; truth {E[t]['name']!r} ({E[t]['department']})" if t else ""))
        elif t and not link:
            M[k]+=1; exM.setdefault(k,[]).append(desc+f" -> {pr['status']}; truth {E[t]['name']!r} <{E[t]['email']}>")
for title,C,ex in (("WRONG",W,exW),("MISSED",M,exM)):
    print(f"== {title} ({sum(1 for d in os.listdir('.') if os.path.isdir(d))} runs, total {sum(C.values())})")
    for k,n in C.most_common(TOP):
        print(f"{n:5d} {k}"); 
        for x in ex[k][:2]: print("        ",x)
