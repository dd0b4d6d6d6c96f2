"""Population genetics: genotypes of K populations, the population as the target."""

from qhybrid.data.options import DATA
from qhybrid.data.spec import GenomicsDataSpec

DATA.add("genomics", GenomicsDataSpec, "qhybrid.data.genomics:load_genomics",
         "genotypes (0/1/2 per SNP) of K populations, simulated (Balding-Nichols) or data.path; PCA per fold")
