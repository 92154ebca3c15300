package dev.unet4j.spark;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.samplers.Samplers;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.IntegralType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A Spark ML {@link Transformer} that generates one image per row with a unet4j model, loaded once per executor JVM.
 *
 * <p>Input columns (all optional but one of {@code prompt} / {@code class_label}): {@code prompt},
 * {@code negative_prompt} (strings), {@code seed} (integral; absent or null: derived from the row's prompt, negative
 * prompt and class label), {@code class_label} (integral, class-conditional models), and per-row overrides
 * {@code steps}, {@code guidance}, {@code width}, {@code height} (numbers), {@code init_image} (binary PNG, img2img
 * with {@link #strength()}). Output columns, appended to the input's (an input column of the same name is replaced):
 * {@code image} (binary PNG, null when the row failed), {@code seed} (the seed used), {@code model} (the model path),
 * {@code settings} (JSON: sampler, steps, guidance, size, cache policy, quantization, OpenMP threads per generation),
 * {@code millis} (the row's generation time) and {@code error} (null, or why the row failed).
 *
 * <p>A row's image depends only on its own fields and the params, never on the partitioning or the executor: it is the
 * image {@code unet4j generate} and the library give for the same seed and settings.
 *
 * <pre>{@code
 * Dataset<Row> images = new Unet4jGenerator().setModelPath("/models/sd15").setSteps(25).setGuidance(7.5)
 *         .transform(spark.read().parquet("prompts.parquet"));
 * }</pre>
 *
 * <p>Threads: each executor runs its generations on a fixed pool of {@code executor cores / spark.task.cpus}
 * long-lived threads (the task threads wait for them; a killed task cancels its generation), so the executor keeps
 * one OpenMP team per pool thread, whatever threads Spark runs its tasks on. Each generation uses
 * {@code spark.task.cpus} OpenMP threads on Java 22+ (set in-process); on Java 17-21 the count is the executor's
 * {@code OMP_NUM_THREADS}, fixed before the JVM starts, so set {@code spark.executorEnv.OMP_NUM_THREADS} to
 * {@code spark.task.cpus} ({@link GenerateImages} and {@code bin/unet4j-spark} do). Each executor logs the route and
 * count once, and the {@code settings} column carries them ({@code intra_op_threads}, {@code threads_from}).
 */
public final class Unet4jGenerator extends Transformer {
    private static final long serialVersionUID = 1L;

    public static final String PROMPT = "prompt";
    public static final String NEGATIVE_PROMPT = "negative_prompt";
    public static final String SEED = "seed";
    public static final String CLASS_LABEL = "class_label";
    public static final String STEPS = "steps";
    public static final String GUIDANCE = "guidance";
    public static final String WIDTH = "width";
    public static final String HEIGHT = "height";
    public static final String INIT_IMAGE = "init_image";
    public static final String IMAGE = "image";
    public static final String MODEL = "model";
    public static final String SETTINGS = "settings";
    public static final String MILLIS = "millis";
    public static final String ERROR = "error";
    /** The columns the transformer appends, in order. */
    public static final List<String> OUTPUT_COLUMNS = List.of(IMAGE, SEED, MODEL, SETTINGS, MILLIS, ERROR);

    private static final Set<String> STRINGS = Set.of(PROMPT, NEGATIVE_PROMPT);
    private static final Set<String> INTEGRALS = Set.of(SEED, CLASS_LABEL, STEPS, WIDTH, HEIGHT);

    private final String uid;
    private final Param<String> modelPath;
    private final Param<String> sampler;
    private final IntParam steps;
    private final DoubleParam guidance;
    private final Param<String> cachePolicy;
    private final Param<String> quantization;
    private final DoubleParam strength;
    private final IntParam nullClass;
    private final IntParam batchSize;
    private final BooleanParam truncatePrompts;

    public Unet4jGenerator() {
        this(Identifiable$.MODULE$.randomUID("unet4jGenerator"));
    }

    public Unet4jGenerator(String uid) {
        this.uid = uid;
        modelPath = new Param<>(this, "modelPath", "diffusers pipeline folder (model_index.json) or class-conditional UNet"
                + " folder, a path every executor sees or a folder shipped with --files");
        sampler = new Param<>(this, "sampler", "sampler name (" + String.join(", ", Samplers.NAMES)
                + "); empty = the model's scheduler config");
        steps = new IntParam(this, "steps", "inference steps of rows without a steps column value (>= 1)");
        guidance = new DoubleParam(this, "guidance", "classifier-free guidance scale of rows without a guidance value (<= 1: off)");
        cachePolicy = new Param<>(this, "cachePolicy", "UNet feature-cache policy (" + String.join(", ", CachePolicies.names())
                + ", e.g. deepcache:interval=3), or none");
        quantization = new Param<>(this, "quantization", "UNet weight quantization (" + QuantSpec.VALID + "); empty = as stored");
        strength = new DoubleParam(this, "strength", "img2img strength in (0, 1] for rows with an init_image");
        nullClass = new IntParam(this, "nullClass", "class-conditional models: the unconditional class for guidance; -1 = num_class_embeds - 1");
        batchSize = new IntParam(this, "batchSize", "rows read at a time; class-conditional rows of equal settings among them run as one UNet batch");
        truncatePrompts = new BooleanParam(this, "truncatePrompts", "cut prompts longer than the tokenizer's window as diffusers"
                + " does (true) or give such rows an error (false)");
        setDefault(sampler, "");
        setDefault(steps, 25);
        setDefault(guidance, 7.5);
        setDefault(cachePolicy, "none");
        setDefault(quantization, "");
        setDefault(strength, 0.8);
        setDefault(nullClass, -1);
        setDefault(batchSize, 8);
        setDefault(truncatePrompts, false);
    }

    @Override
    public String uid() {
        return uid;
    }

    public Param<String> modelPath() { return modelPath; }
    public Param<String> sampler() { return sampler; }
    public IntParam steps() { return steps; }
    public DoubleParam guidance() { return guidance; }
    public Param<String> cachePolicy() { return cachePolicy; }
    public Param<String> quantization() { return quantization; }
    public DoubleParam strength() { return strength; }
    public IntParam nullClass() { return nullClass; }
    public IntParam batchSize() { return batchSize; }
    public BooleanParam truncatePrompts() { return truncatePrompts; }

    public Unet4jGenerator setModelPath(String v) { set(modelPath, v); return this; }
    public Unet4jGenerator setSampler(String v) { set(sampler, v); return this; }
    public Unet4jGenerator setSteps(int v) { set(steps, v); return this; }
    public Unet4jGenerator setGuidance(double v) { set(guidance, v); return this; }
    public Unet4jGenerator setCachePolicy(String v) { set(cachePolicy, v); return this; }
    public Unet4jGenerator setQuantization(String v) { set(quantization, v); return this; }
    public Unet4jGenerator setStrength(double v) { set(strength, v); return this; }
    public Unet4jGenerator setNullClass(int v) { set(nullClass, v); return this; }
    public Unet4jGenerator setBatchSize(int v) { set(batchSize, v); return this; }
    public Unet4jGenerator setTruncatePrompts(boolean v) { set(truncatePrompts, v); return this; }

    /**
     * The params as executors get them, checked here on the driver so a bad value fails the job before any task
     * starts: unknown sampler, cache policy or quantization, steps below 1, strength outside (0, 1].
     */
    GeneratorSettings settings() {
        if (!isDefined(modelPath) || $(modelPath).isBlank()) throw new IllegalArgumentException("Unet4jGenerator: set modelPath");
        List<String> problems = new ArrayList<>();
        String samp = blankToNull($(sampler));
        if (samp != null && !Samplers.NAMES.contains(samp.toLowerCase(Locale.ROOT))) {
            problems.add("sampler '" + samp + "' is unknown; valid: " + String.join(", ", Samplers.NAMES));
        }
        String cache = blankToNull($(cachePolicy));
        if (cache != null && cache.strip().equalsIgnoreCase("none")) cache = null;
        if (cache != null) {
            try {
                CachePolicies.parse(cache.strip());
            } catch (IllegalArgumentException e) {
                problems.add("cachePolicy '" + cache + "': " + e.getMessage());
            }
        }
        String quant = blankToNull($(quantization));
        if (quant != null) {
            try {
                QuantSpec.parse(quant);
            } catch (IllegalArgumentException e) {
                problems.add("quantization: " + e.getMessage());
            }
        }
        int n = (Integer) $(steps);
        if (n < 1) problems.add("steps must be >= 1, got " + n);
        double g = (Double) $(guidance);
        if (!Double.isFinite(g) || g < 0) problems.add("guidance must be a finite number >= 0, got " + g);
        double st = (Double) $(strength);
        if (!(st > 0 && st <= 1)) problems.add("strength must be in (0, 1], got " + st);
        int b = (Integer) $(batchSize);
        if (b < 1) problems.add("batchSize must be >= 1, got " + b);
        if (!problems.isEmpty()) throw new IllegalArgumentException("Unet4jGenerator: " + String.join("; ", problems));
        return new GeneratorSettings($(modelPath), samp, n, g, cache == null ? null : cache.strip(), quant, st,
                (Integer) $(nullClass), b, (Boolean) $(truncatePrompts));
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        GeneratorSettings s = settings();
        return dataset.toDF().mapPartitions(new PartitionGenerator(s, dataset.schema()), Encoders.row(out));
    }

    /** The input's columns (less those the output replaces) and the output columns; wrong column types are refused. */
    @Override
    public StructType transformSchema(StructType schema) {
        List<String> problems = new ArrayList<>();
        for (StructField f : schema.fields()) {
            DataType t = f.dataType();
            String name = f.name();
            if (STRINGS.contains(name) && !t.equals(DataTypes.StringType)) problems.add(name + " must be a string column, it is " + t.simpleString());
            if (INTEGRALS.contains(name) && !(t instanceof IntegralType)) problems.add(name + " must be an integer column, it is " + t.simpleString());
            if (name.equals(GUIDANCE) && !(t instanceof NumericType)) problems.add(name + " must be a numeric column, it is " + t.simpleString());
            if (name.equals(INIT_IMAGE) && !t.equals(DataTypes.BinaryType)) problems.add(name + " must be a binary (PNG) column, it is " + t.simpleString());
        }
        if (schema.getFieldIndex(PROMPT).isEmpty() && schema.getFieldIndex(CLASS_LABEL).isEmpty()) {
            problems.add("the input needs a " + PROMPT + " or a " + CLASS_LABEL + " column; it has " + String.join(", ", schema.fieldNames()));
        }
        if (!problems.isEmpty()) throw new IllegalArgumentException("Unet4jGenerator input: " + String.join("; ", problems));
        List<StructField> fields = new ArrayList<>();
        for (StructField f : schema.fields()) if (!OUTPUT_COLUMNS.contains(f.name())) fields.add(f);
        fields.add(DataTypes.createStructField(IMAGE, DataTypes.BinaryType, true));
        fields.add(DataTypes.createStructField(SEED, DataTypes.LongType, false));
        fields.add(DataTypes.createStructField(MODEL, DataTypes.StringType, false));
        fields.add(DataTypes.createStructField(SETTINGS, DataTypes.StringType, true));
        fields.add(DataTypes.createStructField(MILLIS, DataTypes.LongType, false));
        fields.add(DataTypes.createStructField(ERROR, DataTypes.StringType, true));
        return DataTypes.createStructType(fields);
    }

    @Override
    public Unet4jGenerator copy(ParamMap extra) {
        return (Unet4jGenerator) defaultCopy(extra);
    }
}
