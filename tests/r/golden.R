# Golden values from R for the sampler's estimation (issue 20).
#
# Run:  Rscript tests/r/golden.R > tests/r/golden.json     (R 4.2.2, sampling 2.9, survey 4.1.1:
#       apt-get install -y --no-install-recommends r-base-core r-cran-sampling r-cran-survey)
# The inputs are written here explicitly (no RNG but the seeded bootstrap of case 11, whose
# replicate factors are exported), and copied into the JSON so the Python
# tests (tests/sampler/test_r_golden.py) read inputs and R's answers from one file.
# Every number is printed with 17 significant digits; NaN/NA become null.
suppressMessages({library(sampling); library(survey)})
options(survey.lonely.psu = "fail")

num <- function(x) {
  x <- as.numeric(x)
  v <- ifelse(is.na(x), "null", sprintf("%.17g", x))
  paste0("[", paste(v, collapse = ","), "]")
}
mat <- function(m) paste0("[", paste(apply(m, 1, num), collapse = ","), "]")
str <- function(x) paste0("[", paste0('"', x, '"', collapse = ","), "]")
obj <- function(...) {
  kv <- list(...)
  paste0("{", paste0('"', names(kv), '":', unlist(kv), collapse = ","), "}")
}
ci <- function(r) as.numeric(attr(r, "ci"))
cases <- list()
add <- function(name, json) cases[[name]] <<- json

# --- 1. π proportional to size, capped at 1 (certainty units) ---------------------------
x <- c(40, 0.5, 1, 2, 3, 25, 4, 5, 6, 7, 8, 1.5, 2.5, 30, 9)
add("capping", obj(sizes = num(x), n = num(6), pik = num(inclusionprobabilities(x, 6))))

# --- 2. joint inclusion probabilities -----------------------------------------------------
pik_sys <- c(0.2, 0.7, 1, 0.35, 0.55, 0.9, 0.3, 0.45, 0.25, 0.6, 0.75, 0.95)  # Σ = 7
add("joint_systematic", obj(pik = num(pik_sys), pikl = mat(UPsystematicpi2(pik_sys))))
pik_sf <- inclusionprobabilities(c(3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7), 5)
add("joint_sampford", obj(pik = num(pik_sf), pikl = mat(UPsampfordpi2(pik_sf))))

# --- 3. variances of a πps sample with exact (Sampford) joint probabilities ---------------
s <- c(1, 3, 6, 8, 12)  # sampled positions in pik_sf (1-based)
ys <- c(1, 0, 1, 0, 0)
ps <- pik_sf[s]
pikl_s <- UPsampfordpi2(pik_sf)[s, s]
d <- data.frame(y = ys, pik = ps)
des_ht <- svydesign(ids = ~1, fpc = ~pik, data = d, pps = ppsmat(pikl_s), variance = "HT")
des_yg <- svydesign(ids = ~1, fpc = ~pik, data = d, pps = ppsmat(pikl_s), variance = "YG")
tot_ht <- svytotal(~y, des_ht); tot_yg <- svytotal(~y, des_yg)
mean_ht <- svymean(~y, des_ht); mean_yg <- svymean(~y, des_yg)
add("variance_pps", obj(
  y = num(ys), pik = num(ps), pikl = mat(pikl_s), positions = num(s - 1),
  varHT_ht = num(varHT(ys, pikl_s, 1)), varHT_syg = num(varHT(ys, pikl_s, 2)),
  deville = num(varest(ys, pik = ps)),
  svytotal = num(coef(tot_ht)), svytotal_var_ht = num(vcov(tot_ht)),
  svytotal_var_yg = num(vcov(tot_yg)),
  svymean = num(coef(mean_ht)), svymean_var_ht = num(vcov(mean_ht)),
  svymean_var_yg = num(vcov(mean_yg)), degf = num(degf(des_ht)),
  beta_ht = num(ci(svyciprop(~y, des_ht, method = "beta"))),
  beta_yg = num(ci(svyciprop(~y, des_yg, method = "beta")))))

# --- 4. Korn–Graubard and friends on simple random samples --------------------------------
srs_case <- function(x, n, N) {
  d <- data.frame(y = c(rep(1, x), rep(0, n - x)))
  if (is.na(N)) des <- svydesign(ids = ~1, data = d, weights = ~rep(1, n))
  else { d$N <- N; des <- svydesign(ids = ~1, fpc = ~N, data = d) }
  m <- svymean(~y, des)
  obj(x = num(x), n = num(n), N = num(N), mean = num(coef(m)), var = num(vcov(m)),
      degf = num(degf(des)),
      beta = num(ci(svyciprop(~y, des, method = "beta"))),
      logit = num(if (x > 0) ci(svyciprop(~y, des, method = "logit")) else c(NA, NA)),
      xlogit = num(ci(svyciprop(~y, des, method = "xlogit"))),
      clopper_pearson = num(binom.test(x, n)$conf.int))
}
add("srs", paste0("[", paste(c(srs_case(3, 59, NA), srs_case(3, 59, 400), srs_case(0, 59, NA),
                                srs_case(0, 29, 10000), srs_case(7, 29, 60),
                                srs_case(1, 12, 30)), collapse = ","), "]"))

# --- 5. stratified SRS with fpc and a certainty stratum (all its units taken) ------------
h <- c(rep("a", 20), rep("b", 12), rep("c", 5), rep("d", 8))
Nh <- c(a = 400, b = 150, c = 5, d = 90)
y5 <- c(1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        1, 1, 0, 0, 0,
        0, 0, 0, 0, 1, 0, 0, 0)
d5 <- data.frame(y = y5, h = h, N = Nh[h])
des5 <- svydesign(ids = ~1, strata = ~h, fpc = ~N, data = d5)
m5 <- svymean(~y, des5); t5 <- svytotal(~y, des5)
z5 <- y5; z5[] <- 0
des5z <- svydesign(ids = ~1, strata = ~h, fpc = ~N, data = transform(d5, y = z5))
add("stratified", obj(
  y = num(y5), strata = str(h), N = num(Nh[h]),
  mean = num(coef(m5)), var = num(vcov(m5)), total = num(coef(t5)), total_var = num(vcov(t5)),
  degf = num(degf(des5)),
  beta = num(ci(svyciprop(~y, des5, method = "beta"))),
  logit = num(ci(svyciprop(~y, des5, method = "logit"))),
  xlogit = num(ci(svyciprop(~y, des5, method = "xlogit"))),
  beta_zero = num(ci(svyciprop(~y, des5z, method = "beta")))))

# --- 6. lonely strata: survey.lonely.psu options ------------------------------------------
h6 <- c(rep("a", 10), "b", "c", rep("d", 6))
N6 <- c(a = 200, b = 80, c = 50, d = 120)
y6 <- c(1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0)
d6 <- data.frame(y = y6, h = h6, N = N6[h6])
lonely <- sapply(c("remove", "certainty", "adjust", "average"), function(opt) {
  options(survey.lonely.psu = opt)
  des <- svydesign(ids = ~1, strata = ~h, fpc = ~N, data = d6)
  c(vcov(svymean(~y, des)), vcov(svytotal(~y, des)))
})
options(survey.lonely.psu = "fail")
add("lonely", obj(y = num(y6), strata = str(h6), N = num(N6[h6]),
                  mean_var = num(lonely[1, ]), total_var = num(lonely[2, ]),
                  options = str(colnames(lonely))))

# --- 7. domains that are not strata -------------------------------------------------------
dom <- rep(c("p", "q", "r"), length.out = length(y5))
des7 <- svydesign(ids = ~1, strata = ~h, fpc = ~N, data = transform(d5, dom = dom))
by7 <- svyby(~y, ~dom, des7, svymean)
tot7 <- svyby(~y, ~dom, des7, svytotal)
beta7 <- sapply(c("p", "q", "r"), function(v) ci(svyciprop(~y, subset(des7, dom == v),
                                                          method = "beta")))
degf7 <- sapply(c("p", "q", "r"), function(v) degf(subset(des7, dom == v)))
add("domains", obj(y = num(y5), strata = str(h), N = num(Nh[h]), domain = str(dom),
                   levels = str(c("p", "q", "r")), mean = num(coef(by7)), var = num(SE(by7)^2),
                   total = num(coef(tot7)), total_var = num(SE(tot7)^2),
                   beta_low = num(beta7[1, ]), beta_high = num(beta7[2, ]), degf = num(degf7)))

# --- 8. post-stratification to known counts (on the stratified design of case 5) --------
ps <- rep(c("mall", "shop"), times = c(25, 20))
des8 <- svydesign(ids = ~1, strata = ~h, fpc = ~N, data = transform(d5, ps = ps))
pst <- postStratify(des8, ~ps, data.frame(ps = c("mall", "shop"), Freq = c(300, 345)))
m8 <- svymean(~y, pst); t8 <- svytotal(~y, pst)
add("poststratify", obj(y = num(y5), strata = str(h), N = num(Nh[h]), post = str(ps),
                        levels = str(c("mall", "shop")), counts = num(c(300, 345)),
                        mean = num(coef(m8)), var = num(vcov(m8)), total = num(coef(t8)),
                        total_var = num(vcov(t8)), degf = num(degf(pst)),
                        beta = num(ci(svyciprop(~y, pst, method = "beta")))))

# --- 9. stratified πps with unknown N_h: combined ratio, HT/YG with block joint π --------
pa <- inclusionprobabilities(c(3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7), 5)
pb <- inclusionprobabilities(c(2, 7, 1, 8, 2, 8, 1, 8, 2, 8), 4)
sa <- c(1, 3, 6, 8, 12); sb <- c(2, 4, 6, 9)
pkl9 <- matrix(0, 9, 9)
pkl9[1:5, 1:5] <- UPsampfordpi2(pa)[sa, sa]
pkl9[6:9, 6:9] <- UPsampfordpi2(pb)[sb, sb]
p9 <- c(pa[sa], pb[sb]); h9 <- rep(c("a", "b"), c(5, 4)); y9 <- c(1, 0, 1, 0, 0, 0, 1, 0, 0)
for (i in 1:5) for (j in 6:9) { pkl9[i, j] <- p9[i] * p9[j]; pkl9[j, i] <- pkl9[i, j] }
d9 <- data.frame(y = y9, h = h9, pik = p9)
res9 <- lapply(c("HT", "YG"), function(v) {
  des <- svydesign(ids = ~1, strata = ~h, fpc = ~pik, data = d9, pps = ppsmat(pkl9),
                   variance = v)
  m <- svymean(~y, des); t <- svytotal(~y, des)
  c(coef(m), vcov(m), coef(t), vcov(t), degf(des), ci(svyciprop(~y, des, method = "beta")))
})
add("stratified_pps", obj(y = num(y9), strata = str(h9), pik = num(p9), pikl = mat(pkl9),
                          ht = num(res9[[1]]), yg = num(res9[[2]])))

# --- 10. calibration to known totals (linear = GREG, raking) on the design of case 5 --------
cal_x <- c(12, 30, 8, 45, 22, 17, 9, 60, 14, 25, 33, 11, 19, 41, 7, 28, 36, 15, 21, 50,
           18, 26, 39, 13, 31, 44, 10, 23, 35, 16, 29, 42,
           55, 48, 61, 52, 58,
           20, 27, 34, 24, 38, 12, 46, 32)
d10 <- transform(d5, ps = ps, dom = dom, x = cal_x)
des10 <- svydesign(ids = ~1, strata = ~h, fpc = ~N, data = d10)
pop_lin <- c(`(Intercept)` = 645, psshop = 345, domq = 215, domr = 230, x = 17500)
pop_rake <- c(`(Intercept)` = 645, psshop = 345, domq = 215, domr = 230)
cal_case <- function(des) {
  m <- svymean(~y, des); t <- svytotal(~y, des)
  c(coef(m), vcov(m), coef(t), vcov(t), degf(des), ci(svyciprop(~y, des, method = "beta")))
}
cal_lin <- calibrate(des10, ~ps + dom + x, population = pop_lin, calfun = "linear")
cal_rake <- calibrate(des10, ~ps + dom, population = pop_rake, calfun = "raking",
                      epsilon = 1e-12, maxit = 100)
add("calibrate", obj(y = num(y5), strata = str(h), N = num(Nh[h]), post = str(ps),
                     domain = str(dom), x = num(cal_x),
                     totals_linear = num(pop_lin), totals_raking = num(pop_rake),
                     linear = num(cal_case(cal_lin)), raking = num(cal_case(cal_rake)),
                     g_linear = num(weights(cal_lin) / weights(des10)),
                     g_raking = num(weights(cal_rake) / weights(des10))))

# --- 11. replicate weights: JKn (deterministic) and Rao–Wu bootstrap (R's draws exported) --
rep_case <- function(rd) {
  m <- svymean(~y, rd); t <- svytotal(~y, rd)
  obj(factors = mat(weights(rd, type = "replication")), scale = num(rd$scale),
      rscales = num(rd$rscales), mean = num(coef(m)), var = num(vcov(m)),
      total = num(coef(t)), total_var = num(vcov(t)), degf = num(degf(rd)),
      beta = num(ci(svyciprop(~y, rd, method = "beta"))))
}
jkn <- as.svrepdesign(des5, type = "JKn")
set.seed(20)
boot <- as.svrepdesign(des5, type = "subbootstrap", replicates = 40)
add("replicates", obj(y = num(y5), strata = str(h), N = num(Nh[h]),
                      jkn = rep_case(jkn), subbootstrap = rep_case(boot)))

cat(paste0("{\"r\":", str(R.version.string), ",\"sampling\":",
           str(as.character(packageVersion("sampling"))), ",\"survey\":",
           str(as.character(packageVersion("survey"))), ",\n",
           paste0('"', names(cases), '":', unlist(cases), collapse = ",\n"), "}\n"))
