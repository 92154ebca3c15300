package dev.unet4j.caching.policy;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.FeatureStore;
import dev.unet4j.caching.PolicyArgs;
import dev.unet4j.caching.PolicyRun;
import dev.unet4j.caching.RunContext;
import dev.unet4j.caching.UNetStructure;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.UNetModel;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * Auto-calibrated whole-body caching, MagCache-style ({@code Zehong-Ma/MagCache}; the skip rule is
 * {@link MagnitudeSchedule}). The first generation for a model + call timesteps (the scheduler and step count as the
 * calls they make) computes every call in full and records the residual magnitude ratio curve
 * ({@code mean over pixels of |r_k| / |r_{k-1}|}, {@code r} = conv_norm_out input minus conv_in output, the
 * residual {@link AdaptiveCache} reuses, channel norms per pixel); the curve is saved to {@code file}
 * ({@code cache-calibration.json} next to the model, {@link CalibrationFile}) and every later generation with the same
 * key reads it and skips by the rule: {@code speedup=S} picks the least run cap {@code K} and least threshold whose
 * schedule skips at least {@code calls - floor(calls / S)} calls; {@code max-error=E} uses {@code E} as MagCache's
 * accumulated-error threshold with {@code max-run} as its {@code K}. A skipped call reuses as the adaptive policy
 * does (conv_in, then conv_norm_out on {@code probe + residual}).
 *
 * @param speedup   requested call speedup ({@code > 1}), or NaN
 * @param maxError  MagCache threshold ({@code >= 0}), or NaN
 * @param maxRun    {@code K} for {@code max-error} (default 4; {@code speedup} chooses its own)
 * @param retention MagCache's {@code retention_ratio}: the first {@code int(calls * retention)} calls always compute
 * @param file      the calibration file
 */
public record AutoCalibration(double speedup, double maxError, int maxRun, double retention, Path file) implements CachePolicy {
    public static final String NAME = "auto";
    /** The file name the CLI uses next to the model. */
    public static final String FILE_NAME = "cache-calibration.json";

    public AutoCalibration {
        if (Double.isNaN(speedup) == Double.isNaN(maxError)) {
            throw new IllegalArgumentException("auto: give exactly one of speedup=S (> 1) and max-error=E (>= 0)");
        }
        if (!Double.isNaN(speedup) && !(speedup > 1 && speedup < 1e6)) throw new IllegalArgumentException("auto: speedup must be > 1, got " + speedup);
        if (!Double.isNaN(maxError) && !(maxError >= 0 && maxError < 1e6)) throw new IllegalArgumentException("auto: max-error must be >= 0, got " + maxError);
        if (maxRun < 1) throw new IllegalArgumentException("auto: max-run must be >= 1, got " + maxRun);
        if (!(retention >= 0 && retention < 1)) throw new IllegalArgumentException("auto: retention must be in [0, 1), got " + retention);
    }

    /** {@code auto:speedup=3} or {@code auto:max-error=0.06,max-run=4}, with {@code retention=0.2} and {@code file=PATH}. */
    public static AutoCalibration parse(String text) {
        PolicyArgs a = PolicyArgs.parse(NAME, text, List.of("speedup", "max-error", "max-run", "retention", "file"), Set.of(), Set.of());
        if (a.has("max-run") && a.has("speedup")) {
            throw new IllegalArgumentException("auto: max-run goes with max-error; speedup=S chooses its own run cap");
        }
        String f = a.string("file", null);
        return new AutoCalibration(a.number("speedup", Double.NaN), a.number("max-error", Double.NaN), a.integer("max-run", 4),
                a.number("retention", 0.2), f == null ? null : Path.of(f));
    }

    /** This policy saving its calibration in {@code folder}/{@value #FILE_NAME} unless it names a file already. */
    public AutoCalibration besideModel(Path folder) {
        return file != null ? this : new AutoCalibration(speedup, maxError, maxRun, retention, folder.resolve(FILE_NAME));
    }

    /**
     * {@code policy} (a composition or a single policy) with every {@code auto:} part that names no file keeping its
     * calibration in {@code folder}/{@value #FILE_NAME}; the other parts unchanged.
     */
    public static CachePolicy besideModel(CachePolicy policy, Path folder) {
        List<CachePolicy> parts = CachePolicies.parts(policy).stream()
                .map(p -> p instanceof AutoCalibration a ? a.besideModel(folder) : p).toList();
        return CachePolicies.compose(parts);
    }

    /** Whether {@code policy} has an {@code auto:} part (its first generation per model and timesteps calibrates). */
    public static boolean calibrates(CachePolicy policy) {
        return CachePolicies.parts(policy).stream().anyMatch(p -> p instanceof AutoCalibration);
    }

    @Override
    public String spec() {
        String goal = Double.isNaN(speedup) ? "max-error=" + maxError + ",max-run=" + maxRun : "speedup=" + speedup;
        return NAME + ":" + goal + ",retention=" + retention + (file == null ? "" : ",file=" + file);
    }

    /** The identity a calibration is kept under: the model's architecture and size (its node paths and parameter count). */
    static String modelKey(UNetModel model) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(model.getClass().getSimpleName().getBytes(StandardCharsets.UTF_8));
            for (String p : model.nodePaths()) d.update((p + "\n").getBytes(StandardCharsets.UTF_8));
            d.update(Long.toString(model.parameterCount()).getBytes(StandardCharsets.UTF_8));
            return model.getClass().getSimpleName() + "/" + model.parameterCount() + "/" + HexFormat.of().formatHex(d.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JVM", e);
        }
    }

    /** The calls {@code ratios} skip under this policy's goal. */
    public boolean[] schedule(double[] ratios) {
        int warmup = (int) (ratios.length * retention);
        if (Double.isNaN(speedup)) return MagnitudeSchedule.skips(ratios, warmup, maxRun, maxError);
        int wanted = ratios.length - (int) Math.floor(ratios.length / speedup);
        MagnitudeSchedule.Choice c;
        try {
            c = MagnitudeSchedule.forSkips(ratios, warmup, wanted);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("auto:speedup=" + speedup + ": " + e.getMessage(), e);
        }
        return MagnitudeSchedule.skips(ratios, warmup, c.maxRun(), c.threshold());
    }

    @Override
    public PolicyRun start(RunContext ctx) {
        if (file == null) throw new IllegalArgumentException("auto: no calibration file; give file=PATH (the CLI keeps " + FILE_NAME + " next to the model)");
        double[] ts = ctx.info().callTimesteps();
        if (ts == null) {
            throw new IllegalArgumentException("auto: the calibration is keyed by the generation's call timesteps; open the cache session "
                    + "with GenerationInfo.withTimesteps (a Pipeline run through CachedRunModel does)");
        }
        String model = modelKey(ctx.model());
        for (CalibrationFile.Entry e : CalibrationFile.read(file)) {
            if (e.matches(model, ts)) return new Scheduled(ctx.structure(), ts.length, ctx.newStore(), schedule(e.ratios()));
        }
        return new Calibrating(ctx.structure(), ts.length, ctx.newStore(), model, ts);
    }

    /** A calibrated generation: skips where the schedule says. */
    private static final class Scheduled extends BodyReuse {
        private final boolean[] skip;

        Scheduled(UNetStructure s, int total, FeatureStore store, boolean[] skip) {
            super(s, total, store);
            this.skip = skip;
        }

        @Override
        protected String decide(int k, Tensor probe, boolean possible) {
            return skip[k] ? "auto skip" : null;
        }
    }

    /** The calibration generation: full compute, recording the curve; saved once the last call has run. */
    private final class Calibrating extends BodyReuse {
        private final String model;
        private final double[] timesteps, ratios;
        private float[] previous;

        Calibrating(UNetStructure s, int total, FeatureStore store, String model, double[] timesteps) {
            super(s, total, store);
            this.model = model;
            this.timesteps = timesteps;
            this.ratios = new double[total];
            ratios[0] = 1;
        }

        @Override
        protected String decide(int k, Tensor probe, boolean possible) {
            return null;
        }

        @Override
        protected void residualKept(int k, Tensor residual) {
            float[] norms = pixelNorms(residual);
            if (k > 0 && previous != null) {
                double sum = 0;
                int n = 0;
                // across a cond-only call (batch B next to guided 2B calls) the conditional halves are compared: the
                // last m pixels of each, the conditional half being the second of a guided batch
                int m = Math.min(norms.length, previous.length), a = norms.length - m, b = previous.length - m;
                for (int i = 0; i < m; i++) {
                    if (previous[b + i] > 0) {                    // a zero pixel has no ratio
                        sum += norms[a + i] / (double) previous[b + i];
                        n++;
                    }
                }
                ratios[k] = n == 0 || !(sum > 0) || Double.isInfinite(sum) ? 1 : sum / n;
            }
            previous = norms;
            if (k == total - 1) save();
        }

        private void save() {
            List<CalibrationFile.Entry> entries = new ArrayList<>();
            for (CalibrationFile.Entry e : CalibrationFile.read(file)) if (!e.matches(model, timesteps)) entries.add(e);
            entries.add(new CalibrationFile.Entry(model, timesteps, ratios.clone()));
            CalibrationFile.write(file, entries);
        }

        @Override
        public String label(int k) {
            return "calibrating";
        }
    }

    /** The channel L2 norm at every pixel of {@code r} ({@code [B, C, H, W]}), as {@code [B * H * W]}. */
    static float[] pixelNorms(Tensor r) {
        int b = (int) r.dim(0), c = (int) r.dim(1), hw = (int) (r.dim(2) * r.dim(3));
        float[] v = r.toFloatArray();
        float[] out = new float[b * hw];
        for (int i = 0; i < b; i++) {
            for (int ch = 0; ch < c; ch++) {
                int o = (i * c + ch) * hw;
                for (int p = 0; p < hw; p++) out[i * hw + p] += v[o + p] * v[o + p];
            }
        }
        for (int i = 0; i < out.length; i++) out[i] = (float) Math.sqrt(out[i]);
        return out;
    }
}
