package dev.unet4j.spark;

import dev.unet4j.core.kernels.dnnl.OpenMpDefaults;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.function.ForeachPartitionFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Example job: a table of requests (CSV with a header, JSON lines or Parquet; columns as {@link Unet4jGenerator}
 * reads them) to a Parquet table of images, and with {@code --png-dir} one PNG per row named {@code ROW_SEED.png}
 * (ROW: the row's position in the input, counted from 0, or its own {@code row} column).
 *
 * <pre>
 * spark-submit --class dev.unet4j.spark.GenerateImages unet4j-spark-VERSION-all.jar \
 *     --model /models/sd15 --prompts prompts.csv --out images.parquet --png-dir images/
 * bin/unet4j-spark --model DIR --prompts prompts.csv --out images.parquet   (local master)
 * </pre>
 */
public final class GenerateImages {
    static final String USAGE = "usage: GenerateImages --model DIR --prompts FILE.csv|.json|.parquet --out OUT.parquet [--png-dir DIR]\n"
            + "       [--sampler NAME] [--steps N] [--guidance G] [--cache SPEC] [--quant SPEC] [--strength S]\n"
            + "       [--batch-size N] [--partitions N] [--truncate-prompts]";

    private GenerateImages() {
    }

    /** The job's arguments. */
    record Args(String model, String prompts, String out, String pngDir, String sampler, Integer steps, Double guidance,
                String cache, String quant, Double strength, Integer batchSize, Integer partitions, boolean truncatePrompts) {

        static Args parse(String... a) {
            String model = null, prompts = null, out = null, png = null, sampler = null, cache = null, quant = null;
            Integer steps = null, batch = null, partitions = null;
            Double guidance = null, strength = null;
            boolean truncate = false;
            for (int i = 0; i < a.length; i++) {
                String k = a[i];
                if (k.equals("--truncate-prompts")) {
                    truncate = true;
                    continue;
                }
                if (i + 1 >= a.length) throw new IllegalArgumentException(k + " needs a value\n" + USAGE);
                String v = a[++i];
                switch (k) {
                    case "--model" -> model = v;
                    case "--prompts" -> prompts = v;
                    case "--out" -> out = v;
                    case "--png-dir" -> png = v;
                    case "--sampler" -> sampler = v;
                    case "--cache" -> cache = v;
                    case "--quant" -> quant = v;
                    case "--steps" -> steps = integer(k, v);
                    case "--batch-size" -> batch = integer(k, v);
                    case "--partitions" -> partitions = integer(k, v);
                    case "--guidance" -> guidance = number(k, v);
                    case "--strength" -> strength = number(k, v);
                    default -> throw new IllegalArgumentException("unknown option " + k + "\n" + USAGE);
                }
            }
            List<String> missing = new ArrayList<>();
            if (model == null) missing.add("--model");
            if (prompts == null) missing.add("--prompts");
            if (out == null) missing.add("--out");
            if (!missing.isEmpty()) throw new IllegalArgumentException("missing " + String.join(", ", missing) + "\n" + USAGE);
            if (partitions != null && partitions < 1) throw new IllegalArgumentException("--partitions must be >= 1, got " + partitions);
            return new Args(model, prompts, out, png, sampler, steps, guidance, cache, quant, strength, batch, partitions, truncate);
        }

        private static int integer(String k, String v) {
            try {
                return Integer.parseInt(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(k + " needs an integer, got '" + v + "'");
            }
        }

        private static double number(String k, String v) {
            try {
                return Double.parseDouble(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(k + " needs a number, got '" + v + "'");
            }
        }

        Unet4jGenerator generator() {
            Unet4jGenerator g = new Unet4jGenerator().setModelPath(model).setTruncatePrompts(truncatePrompts);
            if (sampler != null) g.setSampler(sampler);
            if (steps != null) g.setSteps(steps);
            if (guidance != null) g.setGuidance(guidance);
            if (cache != null) g.setCachePolicy(cache);
            if (quant != null) g.setQuantization(quant);
            if (strength != null) g.setStrength(strength);
            if (batchSize != null) g.setBatchSize(batchSize);
            return g;
        }
    }

    /** What a run did. */
    record Summary(long rows, long failed, long pngs) {
    }

    public static void main(String[] argv) throws Exception {
        Args args;
        try {
            args = Args.parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        SparkConf conf = new SparkConf();
        SparkSession.Builder b = SparkSession.builder().appName("unet4j GenerateImages");
        if (!conf.contains("spark.master")) b.master("local[*]");
        // on Java 17-21 oneDNN's OpenMP threads are fixed per process (Java 22+ executors set spark.task.cpus per
        // generation themselves): one task's worth of cores per generation
        if (!conf.contains("spark.executorEnv.OMP_NUM_THREADS")) {
            b.config("spark.executorEnv.OMP_NUM_THREADS", conf.get("spark.task.cpus", "1"));
        }
        // libgomp's default spinning slows generations severalfold on cores shared with other tasks (docs/threads.md)
        if (!conf.contains("spark.executorEnv.OMP_WAIT_POLICY") && !conf.contains("spark.executorEnv." + OpenMpDefaults.VARIABLE)) {
            b.config("spark.executorEnv." + OpenMpDefaults.VARIABLE, OpenMpDefaults.VALUE);
        }
        SparkSession spark = b.getOrCreate();
        try {
            long t0 = System.nanoTime();
            Summary s = run(spark, args);
            System.out.printf(Locale.ROOT, "wrote %s: %d rows, %d failed%s in %.1f s%n", args.out(), s.rows(), s.failed(),
                    args.pngDir() == null ? "" : ", " + s.pngs() + " PNGs in " + args.pngDir(), (System.nanoTime() - t0) / 1e9);
        } finally {
            spark.stop();
        }
    }

    /** Reads the requests, generates, writes the Parquet table (overwriting) and the PNGs. */
    static Summary run(SparkSession spark, Args args) throws IOException {
        Dataset<Row> in = withRowNumbers(spark, read(spark, args.prompts()));
        if (args.partitions() != null) in = in.repartition(args.partitions());
        args.generator().transform(in).write().mode(SaveMode.Overwrite).parquet(args.out());
        Dataset<Row> out = spark.read().parquet(args.out()); // written once, read back: no second generation
        long rows = out.count();
        long failed = out.where(out.col(Unet4jGenerator.ERROR).isNotNull()).count();
        long pngs = 0;
        if (args.pngDir() != null) {
            Files.createDirectories(Path.of(args.pngDir()));
            String dir = args.pngDir();
            Dataset<Row> images = out.where(out.col(Unet4jGenerator.IMAGE).isNotNull()).select("row", Unet4jGenerator.SEED, Unet4jGenerator.IMAGE);
            // written by the executors: the folder must be one they all see (a shared filesystem), as the output is
            images.foreachPartition((ForeachPartitionFunction<Row>) it -> {
                while (it.hasNext()) {
                    Row r = it.next();
                    Path f = Path.of(dir, pngName(r.getLong(0), r.getLong(1)));
                    Files.createDirectories(f.getParent());
                    Files.write(f, (byte[]) r.get(2));
                }
            });
            pngs = images.count();
        }
        return new Summary(rows, failed, pngs);
    }

    static String pngName(long row, long seed) {
        return row + "_" + seed + ".png";
    }

    /** CSV (header row, inferred types), JSON lines, or Parquet, by the file name. */
    static Dataset<Row> read(SparkSession spark, String file) {
        String n = file.toLowerCase(Locale.ROOT);
        if (n.endsWith(".csv")) return spark.read().option("header", "true").option("inferSchema", "true").csv(file);
        if (n.endsWith(".json") || n.endsWith(".jsonl")) return spark.read().json(file);
        if (n.endsWith(".parquet")) return spark.read().parquet(file);
        throw new IllegalArgumentException("--prompts " + file + ": use a .csv, .json (JSON lines) or .parquet file");
    }

    /** A {@code row} column: the row's position in the input (kept when the input has its own). */
    static Dataset<Row> withRowNumbers(SparkSession spark, Dataset<Row> in) {
        if (in.schema().getFieldIndex("row").isDefined()) return in.withColumn("row", in.col("row").cast(DataTypes.LongType));
        StructType schema = in.schema().add("row", DataTypes.LongType, false);
        return spark.createDataFrame(in.javaRDD().zipWithIndex().map(t -> {
            Object[] v = new Object[t._1().size() + 1];
            for (int i = 0; i < t._1().size(); i++) v[i] = t._1().get(i);
            v[v.length - 1] = t._2();
            return RowFactory.create(v);
        }), schema);
    }
}
