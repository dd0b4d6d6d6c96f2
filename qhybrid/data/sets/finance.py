"""Price series: the next period's direction from windows of technical indicators."""

from qhybrid.data.options import DATA
from qhybrid.data.spec import FinanceDataSpec

DATA.add("finance", FinanceDataSpec, "qhybrid.data.finance:load_finance",
         "daily prices (yfinance, cache or data.prices_csv) -> next-period direction; cv=walk_forward")
