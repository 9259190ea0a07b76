"""The paper's conclusions, tested: each claim a comparison of family bests, with its test and its verdict.

Per dataset, among the paper's own models (`family`: LTC, CNN, LSTM/RNN; diagnostics and the
extensions of exp6 are no part of the paper's claims):

- (a) LTC against the recurrent baselines (LSTM/RNN);
- (b) LTC against the small CNNs;
- (a') LTC against the recurrent baselines as the paper's code ran them (`exp5-across-batch`, where
  its runs are given): the same test, so that a reader sees whether (a) rests on that layout.

Each family's best is chosen on validation AUC (`best_on_validation`) and compared on test AUC two
ways: Welch's t-test over seeds (does the difference exceed what retraining with another seed
does?) and DeLong's test per seed on the same test volumes (would it survive another test set of
the same size?). Holm's correction runs over every test of one dataset's claims. The verdict
(`claim_verdict`) asks both:

- "supported": the LTC best is ahead, beyond seed noise (Welch, Holm) and beyond test-set noise
  (DeLong, Holm) in every seed with predictions;
- "not supported": the same holds the other way round: the other family's best is ahead;
- "not decidable with N seeds": anything else, with the reason.
"""
import dataclasses
import math

from keras_lnn.evaluation import stats
from keras_lnn.models import group_models
from keras_lnn.report.families import best_on_validation, family, family_bests, in_paper
from keras_lnn.report.markdown import table, thousands
from keras_lnn.report.statistics import paired_delong_tests

SUPPORTED, NOT_SUPPORTED = "supported", "not supported"

CLAIMS = (
    ("a", "LSTM/RNN", "LTC models classify better than the recurrent baselines (LSTM/RNN)"),
    ("b", "CNN", "LTC models classify better than the small CNNs"),
)
AS_RUN = ("a'", "LSTM/RNN as run", "LTC models classify better than the recurrent baselines as the paper's code "
          "ran them (recurring across the volumes of a batch)")


def claim_verdict(difference, welch_p, delong, n_seeds):
    """The verdict on "the first is better" from the Holm-adjusted p-values.

    Args:
        difference: mean test AUC of the first minus that of the second.
        welch_p: Welch's adjusted p-value over seeds (None: fewer than 2 seeds, or no spread).
        delong: `[(per-seed AUC difference, adjusted p)]`, one per seed with predictions (may be empty).
        n_seeds: the fewer of the two models' seeds, for "not decidable with N seeds".

    Returns:
        "supported", "not supported", or "not decidable with N seeds: <why>".

    Example:

    >>> claim_verdict(0.03, 0.01, [(0.02, 0.04), (0.04, 0.01)], 3)
    'supported'
    >>> claim_verdict(-0.03, 0.01, [(-0.03, 0.01)], 3)
    'not supported'
    >>> claim_verdict(0.03, 0.01, [(0.02, 0.20)], 3)
    'not decidable with 3 seeds: beyond seed noise, within test-set noise'
    """
    undecided = f"not decidable with {n_seeds} seed{'s' * (n_seeds != 1)}"
    if welch_p is None or math.isnan(welch_p):
        return f"{undecided}: no test over seeds"
    if welch_p >= stats.ALPHA:
        return f"{undecided}: within seed noise"
    sign = math.copysign(1, difference)
    beyond_test_set = all(p < stats.ALPHA and math.copysign(1, d) == sign for d, p in delong)
    if not beyond_test_set:
        return f"{undecided}: beyond seed noise, within test-set noise"
    return SUPPORTED if difference > 0 else NOT_SUPPORTED


@dataclasses.dataclass
class Comparison:
    """One claim on one dataset and setting: the LTC best against another family's best, and its tests.

    Attributes:
        claim: "a", "b" or "a'". statement: what the paper claims.
        first, second: the LTC best and the other best (`ModelResults`; `second` None where it has no run).
        ltc_groups: every LTC group of the block, for the count of those ahead of `second`.
        welch: `WelchResult` on the per-seed test AUC (None: fewer than 2 seeds each).
        delong: `[(seed, DeLongResult)]`. welch_p, delong_p: their Holm-adjusted p-values.
    """
    claim: str
    statement: str
    first: object
    second: object
    ltc_groups: list
    welch: object = None
    delong: list = dataclasses.field(default_factory=list)
    welch_p: float = None
    delong_p: list = dataclasses.field(default_factory=list)

    @property
    def n_seeds(self):
        return min(len(self.first.finished), len(self.second.finished))

    @property
    def verdict(self):
        difference = self.first.mean("test", "auc") - self.second.mean("test", "auc")
        pairs = [(result.difference, p) for (_, result), p in zip(self.delong, self.delong_p)]
        return claim_verdict(difference, self.welch_p, pairs, self.n_seeds)

    def ahead(self):
        """How many LTC groups have a mean test AUC above the other best's: `(count, of)`."""
        bar = self.second.mean("test", "auc")
        means = [r.mean("test", "auc") for r in self.ltc_groups if r.finished]
        return sum(m > bar for m in means), len(means)


def comparisons(block, as_run=()):
    """The claims' comparisons of one setting's groups (`block`), tested and Holm-corrected together.

    `as_run`: the groups of the paper's baselines as its code ran them (diagnostics), for claim (a').
    """
    paper = [r for r in block if in_paper(r.model)]  # the extensions of exp6 are LTC models, but not the paper's
    bests, ltc_groups = family_bests(paper), [r for r in paper if family(r.model) == "LTC"]
    if "LTC" not in bests:
        return []
    found = [Comparison(claim, statement, bests["LTC"], bests.get(other), ltc_groups)
             for claim, other, statement in CLAIMS]
    as_run_best = best_on_validation(as_run)
    if as_run_best is not None:
        found.append(Comparison(AS_RUN[0], AS_RUN[2], bests["LTC"], as_run_best, ltc_groups))
    return run_tests([c for c in found if c.second is not None])


def run_tests(found):
    """Welch's and DeLong's tests of each `Comparison`'s first against its second, Holm-corrected together."""
    for c in found:
        x, y = c.first.scores("test", "auc"), c.second.scores("test", "auc")
        c.welch = stats.welch_t_test(x, y) if len(x) >= 2 and len(y) >= 2 else None
        c.delong = [(row[1], result) for row, result in paired_delong_tests([(c.first, c.second)])]
    p_values = [c.welch.p_value for c in found if c.welch] + [r.p_value for c in found for _, r in c.delong]
    adjusted = iter(stats.holm_adjust(p_values))
    for c in found:
        c.welch_p = next(adjusted) if c.welch else None
    for c in found:
        c.delong_p = [next(adjusted) for _ in c.delong]
    return found



def _claim_row(c):
    welch = c.welch
    delong_beyond = sum(p < stats.ALPHA for p in c.delong_p)
    count, of = c.ahead()
    return [f"({c.claim})", f"{c.first.model} ({thousands(c.first.trainable_params)})",
            f"{c.second.model} ({thousands(c.second.trainable_params)})",
            stats.format_mean_std(c.first.scores("test", "auc")), stats.format_mean_std(c.second.scores("test", "auc")),
            stats.format_number(welch.difference, signed=True) if welch else "-",
            stats.format_p_value(welch.p_value) if welch else "-",
            stats.format_p_value(c.welch_p) if welch else "-",
            f"{delong_beyond} of {len(c.delong)}" if c.delong else "no predictions", f"{count} of {of}", c.verdict]


def claim_sentence(c, dataset_name):
    """One quotable sentence: the claim, the two bests with their parameters, the tests and the verdict."""
    count, of = c.ahead()
    welch = (f"difference {stats.format_number(c.welch.difference, signed=True)}, Welch p = "
             f"{stats.format_p_value(c.welch.p_value)} (Holm {stats.format_p_value(c.welch_p)})") if c.welch else \
        "no test over seeds"
    delong = (f"DeLong beyond test-set noise (Holm) in {sum(p < stats.ALPHA for p in c.delong_p)} of {len(c.delong)} "
              "seeds" if c.delong else "no predictions for DeLong")
    return (f"**({c.claim}) {c.statement}** on {dataset_name}: LTC best {c.first.model} ({thousands(c.first.trainable_params)} "
            f"parameters, test AUC {stats.format_mean_std(c.first.scores('test', 'auc'))}) against {c.second.model} "
            f"({thousands(c.second.trainable_params)} parameters, {stats.format_mean_std(c.second.scores('test', 'auc'))}): "
            f"{welch}; {delong}; {count} of {of} LTC models have a higher mean test AUC than {c.second.model}. "
            f"Verdict: **{c.verdict}**.")


def survival(intended, as_run):
    """What claim (a)'s two verdicts say together: against baselines recurring across slices (`intended`)
    and against the baselines as the paper's code ran them (`as_run`). Only "supported" establishes the
    claim; "not decidable" is no verdict either way, so it never reads as "does not hold".

    Example:

    >>> survival("supported", "not decidable with 3 seeds: within seed noise")
    'survives baselines that recur across slices'
    >>> survival("not decidable with 3 seeds: within seed noise", "not supported")
    'is established against neither form of the baselines'
    """
    if intended == SUPPORTED:
        return "survives baselines that recur across slices"
    first = ("does not survive baselines that recur across slices (they are ahead)" if intended == NOT_SUPPORTED
             else "is not established against baselines that recur across slices (not decidable)")
    if as_run == SUPPORTED:
        return (f"{first}; it holds only against the baselines as the paper's code ran them, so its support comes "
                "from their layout")
    if intended == NOT_SUPPORTED:
        return f"{first}, nor against the baselines as the paper's code ran them"
    return "is established against neither form of the baselines"


def survival_sentence(found, as_run_given):
    """Whether claim (a) survives baselines that recur across slices, from the verdicts of (a) and (a')."""
    by_claim = {c.claim: c.verdict for c in found}
    if "a" not in by_claim:
        return []
    if not as_run_given:
        return ["Claim (a) against the baselines as the paper's code ran them: not tested here (no runs of the "
                "diagnostic `exp5-across-batch` were given to the report).", ""]
    intended, as_run = by_claim["a"], by_claim.get("a'", "not tested")
    return [f"**Does claim (a) survive baselines that recur across slices?** Against baselines recurring across "
            f"slices: {intended}. Against the baselines as the paper ran them: {as_run}. So claim (a) "
            f"{survival(intended, as_run)}.", ""]


def claims_lines(dataset_name, block):
    """Claims (a), (b) and (a') on one setting's groups (diagnostics among them): a table, one sentence per
    claim, and whether claim (a) survives baselines that recur across slices. No lines without an LTC run."""
    diagnostic = set(group_models("diagnostic"))
    as_run = [r for r in block if r.model in diagnostic]
    found = comparisons([r for r in block if r.model not in diagnostic], as_run)
    if not found:
        return []
    n_tests = sum(1 for c in found if c.welch) + sum(len(c.delong) for c in found)
    headers = ["claim", "LTC best (params)", "other best (params)", "LTC test AUC", "other test AUC", "difference",
               "Welch p", "Holm p", "DeLong beyond noise", "LTC models ahead", "verdict"]
    return ([f"Holm's correction over the {n_tests} test{'s' * (n_tests != 1)} of this table (Welch per claim, "
             "DeLong per claim and seed).", "", table(headers, [_claim_row(c) for c in found], "lllrrrrrrrl"), ""]
            + [f"- {claim_sentence(c, dataset_name)}" for c in found] + [""]
            + survival_sentence(found, bool(as_run)))
