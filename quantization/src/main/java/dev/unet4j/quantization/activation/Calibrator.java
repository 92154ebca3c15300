package dev.unet4j.quantization.activation;

import dev.unet4j.core.tensor.Tensor;

import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Collects activation ranges per {@link ActivationSite} per timestep while a float model runs calibration
 * generations, then turns them into static quantizer parameters.
 *
 * <p>Diffusion activations drift strongly with the timestep, so static scales must be calibrated on inputs spread
 * over the whole trajectory (Q-Diffusion, Li et al. 2023: time-step-aware calibration with samples drawn at
 * uniformly spaced steps); {@link #scales} therefore refuses to build from fewer than {@code minTimesteps} distinct
 * timesteps (20 by default). {@link #spreadTimesteps} picks such steps from a sampler schedule.
 *
 * <p>Thread-safe: several generations may record at once.
 */
public final class Calibrator {
    public static final int DEFAULT_MIN_TIMESTEPS = 20;

    private final int minTimesteps;
    private final Map<ActivationSite, Map<Integer, ActivationRange>> ranges = new LinkedHashMap<>();
    private final Map<ActivationSite, double[]> channelSums = new HashMap<>();
    private final Map<ActivationSite, Long> channelCounts = new HashMap<>();

    public Calibrator() {
        this(DEFAULT_MIN_TIMESTEPS);
    }

    public Calibrator(int minTimesteps) {
        if (minTimesteps < 1) throw new IllegalArgumentException("minTimesteps must be positive, got " + minTimesteps);
        this.minTimesteps = minTimesteps;
    }

    /** Records the input of {@code node} at {@code timestep}. */
    public void observe(String node, int timestep, Tensor input) {
        record(ActivationSite.input(node), timestep, input);
    }

    /** Records the two halves of a concatenated input ({@code cat(hidden, skip)}) of {@code node} separately. */
    public void observeConcat(String node, int timestep, Tensor hidden, Tensor skip) {
        record(ActivationSite.concatHidden(node), timestep, hidden);
        record(ActivationSite.concatSkip(node), timestep, skip);
    }

    /**
     * Records values for a site at a timestep (merged with what that site saw at that timestep before), and adds them
     * to the site's per-channel means (channels: dimension 1 of a 4-D NCHW tensor, else the last dimension).
     */
    public void record(ActivationSite site, int timestep, Tensor values) {
        float[] v = values.toFloatArray();
        record(site, timestep, v);
        int channels = (int) (values.rank() == 4 ? values.dim(1) : values.dim(-1));
        long inner = values.rank() == 4 ? values.dim(2) * values.dim(3) : 1;
        double[] sums = new double[channels];
        for (int i = 0; i < v.length; i++) sums[(int) ((i / inner) % channels)] += v[i];
        long perChannel = v.length / channels;
        synchronized (this) {
            double[] acc = channelSums.computeIfAbsent(site, s -> new double[channels]);
            if (acc.length != channels) {
                throw new IllegalArgumentException("calibration input of " + site + " has " + channels + " channels, earlier " + acc.length);
            }
            for (int c = 0; c < channels; c++) acc[c] += sums[c];
            channelCounts.merge(site, perChannel, Long::sum);
        }
    }

    /** Records the range of {@code values} (no channel statistics). */
    public void record(ActivationSite site, int timestep, float[] values) {
        ActivationRange r = ActivationRange.of(values);
        if (values.length > 0 && !(Float.isFinite(r.min()) && Float.isFinite(r.max()))) {
            throw new IllegalArgumentException("calibration input of " + site + " at timestep " + timestep + " has non-finite values");
        }
        synchronized (this) {
            ranges.computeIfAbsent(site, s -> new HashMap<>()).merge(timestep, r, ActivationRange::merge);
        }
    }

    public synchronized Set<ActivationSite> sites() {
        return Collections.unmodifiableSet(new LinkedHashMap<>(ranges).keySet());
    }

    /** Distinct timesteps seen at any site, ascending. */
    public synchronized Set<Integer> timesteps() {
        TreeSet<Integer> t = new TreeSet<>();
        ranges.values().forEach(m -> t.addAll(m.keySet()));
        return Collections.unmodifiableSet(t);
    }

    /** The range of {@code site} at one timestep ({@link ActivationRange#EMPTY} if never seen). */
    public synchronized ActivationRange range(ActivationSite site, int timestep) {
        return ranges.getOrDefault(site, Map.of()).getOrDefault(timestep, ActivationRange.EMPTY);
    }

    /** The range of {@code site} over all timesteps. */
    public synchronized ActivationRange range(ActivationSite site) {
        return ranges.getOrDefault(site, Map.of()).values().stream().reduce(ActivationRange.EMPTY, ActivationRange::merge);
    }

    /**
     * The per-channel mean input of the layer at {@code node} over everything recorded (for bias correction): its
     * {@link ActivationSite.Part#INPUT INPUT} site, or its two concat halves joined (hidden channels first); null if
     * nothing was recorded with channel statistics.
     */
    public synchronized float[] channelMeans(String node) {
        float[] whole = means(ActivationSite.input(node));
        if (whole != null) return whole;
        float[] h = means(ActivationSite.concatHidden(node)), k = means(ActivationSite.concatSkip(node));
        if (h == null || k == null) return null;
        float[] out = java.util.Arrays.copyOf(h, h.length + k.length);
        System.arraycopy(k, 0, out, h.length, k.length);
        return out;
    }

    private float[] means(ActivationSite site) {
        double[] sums = channelSums.get(site);
        if (sums == null) return null;
        long n = channelCounts.get(site);
        float[] m = new float[sums.length];
        for (int c = 0; c < m.length; c++) m[c] = (float) (sums[c] / n);
        return m;
    }

    /**
     * One static quantizer per site covering its range over all calibrated timesteps.
     *
     * @throws IllegalStateException if fewer than {@code minTimesteps} distinct timesteps were recorded
     */
    public synchronized StaticActivationScales scales(ActivationScheme scheme) {
        int seen = timesteps().size();
        if (seen < minTimesteps) {
            throw new IllegalStateException("calibration saw " + seen + " distinct timesteps, need at least " + minTimesteps
                    + " spread over the trajectory (see Calibrator.spreadTimesteps)");
        }
        Map<ActivationSite, ActivationQuantParams> params = new LinkedHashMap<>();
        for (ActivationSite site : ranges.keySet()) {
            ActivationRange r = range(site);
            params.put(site, scheme.params(r.min(), r.max()));
        }
        return new StaticActivationScales(params);
    }

    /**
     * {@code count} timesteps evenly spread over a sampler's schedule (first and last included), as Q-Diffusion
     * samples its calibration set; {@code schedule} in the order the sampler visits it. Returns all of it when
     * {@code count >= schedule.length}.
     */
    public static int[] spreadTimesteps(int[] schedule, int count) {
        if (schedule.length == 0 || count < 1) throw new IllegalArgumentException("need a non-empty schedule and count >= 1");
        if (count >= schedule.length) return schedule.clone();
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            int idx = count == 1 ? 0 : (int) Math.round((double) i * (schedule.length - 1) / (count - 1));
            out[i] = schedule[idx];
        }
        return out;
    }
}
