"""Write a realistic CSV of Vietnamese contacts for the import benchmark (deterministic)."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

# Mobile prefixes (national, without the trunk 0) by original operator, weighted roughly by
# market share; Itelecom's 087 is listed under VinaPhone by phonenumbers (it is a VNPT MVNO).
PREFIXES = {
    "viettel": ["86", "96", "97", "98", "32", "33", "34", "35", "36", "37", "38", "39"],
    "vinaphone": ["88", "91", "94", "81", "82", "83", "84", "85"],
    "mobifone": ["898", "90", "93", "70", "76", "77", "78", "79"],
    "vietnamobile": ["92", "56", "58"],
    "gmobile": ["993", "994", "59"],
    "itelecom": ["87", "998"],
}
WEIGHTS = {"viettel": 50, "vinaphone": 25, "mobifone": 18, "vietnamobile": 4, "gmobile": 1,
           "itelecom": 2}
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Bùi", "Đặng"]
MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Quốc", "Hoàng"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hạnh", "Lan", "Mai", "Nam", "Phúc", "Quyên",
         "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến"]
LOCALITIES = ["vi-thanh", "nga-bay", "long-my-tx", "chau-thanh", "chau-thanh-a", "long-my",
              "phung-hiep", "vi-thuy", "Huyện Phụng Hiệp", "huyen vi thuy", ""]
BAD = ["12345", "0292 3812 345", "+1 202 555 0143", "", "0912 345", "abc", "+44 7911 123456",
       "1900 1234", "02103 123 456"]


def write_csv(path: Path, rows: int, seed: int = 20250701) -> None:
    """Write `rows` data rows: ~1% bad numbers, ~2% repeats of earlier numbers."""
    rng = random.Random(seed)
    operators = list(WEIGHTS)
    weights = [WEIGHTS[o] for o in operators]
    recent: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("so_dien_thoai,ho_ten,dia_ban,attr_nhom\n")
        for i in range(rows):
            roll = rng.random()
            if roll < 0.01:
                phone = rng.choice(BAD)
            elif roll < 0.03 and recent:
                phone = rng.choice(recent)
            else:
                op = rng.choices(operators, weights)[0]
                prefix = rng.choice(PREFIXES[op])
                national = prefix + f"{rng.randrange(10 ** (9 - len(prefix))):0{9 - len(prefix)}d}"
                form = rng.random()
                if form < 0.55:
                    phone = "0" + national
                elif form < 0.65:
                    phone = "84" + national
                elif form < 0.75:
                    phone = f"+84 {national[:3]} {national[3:6]} {national[6:]}"
                elif form < 0.85:
                    phone = national  # Excel dropped the leading zero
                else:
                    phone = f"0{national[:3]}.{national[3:6]}.{national[6:]}"
                if len(recent) < 5000:
                    recent.append(phone)
                elif rng.random() < 0.01:
                    recent[rng.randrange(5000)] = phone
            name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            locality = rng.choice(LOCALITIES)
            group = "" if i % 3 else rng.choice(["doan-vien", "hoi-vien", "can-bo"])
            out.write(f'{phone},{name},"{locality}",{group}\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    write_csv(args.path, args.rows)


if __name__ == "__main__":
    main()
