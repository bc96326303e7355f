"""Rebuild co2_mauna_loa_monthly.csv from the weekly series that statsmodels ships.

Usage (statsmodels is NOT a dependency of this project; unpack its wheel once):
    pip download --no-deps statsmodels -d /tmp/sm && cd /tmp/sm && unzip -q statsmodels-*.whl
    python data/make_co2_monthly.py /tmp/sm/statsmodels/datasets/co2/co2.csv
"""

import sys
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parent / "co2_mauna_loa_monthly.csv"


def weekly_to_monthly(weekly: pd.DataFrame) -> pd.DataFrame:
    """Mean of each calendar month's weekly values; months with none are linearly interpolated."""
    dates = pd.to_datetime(weekly["date"].astype(str), format="%Y%m%d")
    co2 = pd.Series(weekly["co2"].to_numpy(), index=dates).dropna()  # drop missing weeks
    monthly = co2.resample("MS").mean()  # calendar months, empty months → NaN
    monthly = monthly.interpolate(method="linear")  # fill the few empty months from neighbours
    return pd.DataFrame({"month": monthly.index.strftime("%Y-%m"), "co2_ppm": monthly.round(2).to_numpy()})


if __name__ == "__main__":
    weekly_to_monthly(pd.read_csv(sys.argv[1])).to_csv(OUT, index=False)
    print(f"wrote {OUT}")
