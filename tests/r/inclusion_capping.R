# Golden values for sampler.probabilities.inclusion_probabilities (issue 20).
#
#   Rscript tests/r/inclusion_capping.R > tests/r/inclusion_capping.json
#
# Without a floor: R's sampling::inclusionprobabilities (iterative capping at 1).
# With a floor f: the definition pi = pmin(1, pmax(f, c * a)), sum(pi) = n, solved here with
# uniroot (R has no floored variant), an implementation independent of the Python one.
# Inputs are written into the JSON, so the tests need no R.
suppressMessages(library(sampling))
num <- function(v) paste0("[", paste(sprintf("%.17g", v), collapse = ", "), "]")
floored <- function(a, n, f) {
  g <- function(c) sum(pmin(1, pmax(f, c * a))) - n
  c <- uniroot(g, c(0, 1 / min(a[a > 0])), tol = 1e-15)$root
  p <- pmin(1, pmax(f, c * a))
  free <- p > f & p < 1
  p[free] <- (n - sum(p[!free])) * a[free] / sum(a[free])
  p
}
set.seed(20)
cases <- list(
  list(name = "gamma-certainty", a = c(40, rgamma(29, 1.5)), n = 8, f = 0),
  list(name = "heavy-tail", a = rgamma(200, 0.3), n = 60, f = 0),
  list(name = "chain-of-caps", a = c(100, 50, 25, 12, 6, 3, 1, 1, 1, 1), n = 5, f = 0),
  list(name = "zero-sizes", a = c(0, 0, 3, 1, 2, 8, 0.5), n = 3, f = 0),
  list(name = "floor-releases-cap", a = c(5, 1, 1, rep(0.001, 20)), n = 2, f = 0.05),
  list(name = "floor-and-certainty", a = c(60, 20, rgamma(48, 1)), n = 10, f = 0.02),
  list(name = "risk-scores", a = round(runif(162, 1.18, 11.42), 2), n = 4, f = 0.1 * 4 / 162)
)
out <- character(0)
for (cs in cases) {
  p <- if (cs$f == 0) inclusionprobabilities(cs$a, cs$n) else floored(cs$a, cs$n, cs$f)
  out <- c(out, sprintf('{"name": "%s", "n": %d, "floor": %.17g, "sizes": %s, "pik": %s, "via": "%s"}',
                        cs$name, cs$n, cs$f, num(cs$a), num(p),
                        if (cs$f == 0) "sampling::inclusionprobabilities" else "uniroot"))
}
cat(sprintf('{"R": "%s", "sampling": "%s", "cases": [\n%s\n]}\n', R.version.string,
            as.character(packageVersion("sampling")), paste(out, collapse = ",\n")))
