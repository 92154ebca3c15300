package dev.unet4j.spark;

import dev.unet4j.core.kernels.dnnl.OpenMpTeams;
import dev.unet4j.pipeline.PipelineOptions;
import dev.unet4j.pipeline.StableDiffusion;
import dev.unet4j.pipeline.TextToImage;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Issue 17's benchmark, one configuration per JVM (the OpenMP thread count is fixed when oneDNN loads, so
 * {@code scripts/bench-spark} starts one JVM for each): images/s of {@link Unet4jGenerator} over N prompt rows on a
 * local master, and the plain library loop ({@link StableDiffusion#generate}, one row after the other) in the same
 * JVM with the same threads, so the Spark path's per-image overhead is the difference of the two.
 *
 * <p>Usage: {@code SparkThroughput --master local[K] [--model DIR] [--rows N] [--steps S]}; the rows are
 * {@code a handwritten DIGIT} with seeds 0..N-1 in 2K partitions (each task several rows). Both sides run one warm-up
 * pass first (the Spark one also loads the executor's model); the Spark side is timed until every image is collected
 * on the driver.
 */
public final class SparkThroughput {
    private static final String[] DIGITS = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};

    private SparkThroughput() {
    }

    public static void main(String[] args) throws Exception {
        String master = "local[1]";
        Path model = Path.of("testdata/models/digits-text-32");
        int rows = 32;
        int steps = 25;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--master" -> master = args[++i];
                case "--model" -> model = Path.of(args[++i]);
                case "--rows" -> rows = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; usage: SparkThroughput --master local[K] [--model DIR] [--rows N] [--steps S]");
            }
        }
        // on a thread that ends: its OpenMP team must not stay beside the Spark task's (OpenMpTeams)
        final Path dir = model;
        final int n = rows, st = steps;
        double loopMs = OpenMpTeams.onShortLivedThread("loop", () -> libraryLoopMs(dir, n, st));
        SparkSession spark = SparkSession.builder().master(master).appName("unet4j-spark-throughput")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        try {
            int cores = spark.sparkContext().defaultParallelism();
            Unet4jGenerator gen = new Unet4jGenerator().setModelPath(model.toString()).setSampler("ddim").setSteps(steps)
                    .setGuidance(3.0).setBatchSize(1);
            collect(gen.transform(frame(spark, cores * 2, 2 * cores)), cores * 2); // warm-up: loads the executor model
            long t0 = System.nanoTime();
            collect(gen.transform(frame(spark, rows, 2 * cores)), rows);
            double sparkMs = (System.nanoTime() - t0) / 1e6 / rows;
            System.out.printf(Locale.ROOT, "| %s | %s | %d | %.2f | %.0f | %.2f | %.0f | %+.0f |%n", master,
                    System.getenv().getOrDefault("OMP_NUM_THREADS", "all"), rows, 1000 / sparkMs, sparkMs,
                    1000 / loopMs, loopMs, sparkMs - loopMs);
        } finally {
            spark.stop();
        }
    }

    /** Mean milliseconds per image of the plain library loop over the same rows. */
    private static double libraryLoopMs(Path model, int rows, int steps) throws Exception {
        try (StableDiffusion sd = StableDiffusion.load(model, PipelineOptions.defaults())) {
            for (int i = 0; i < 32; i++) sd.generate(request(i, steps)); // warm-up: the JIT settles after ~30 images
            long t0 = System.nanoTime();
            for (int i = 0; i < rows; i++) sd.generate(request(i, steps));
            return (System.nanoTime() - t0) / 1e6 / rows;
        }
    }

    private static TextToImage request(int row, int steps) {
        return TextToImage.of("a handwritten " + DIGITS[row % 10]).scheduler("ddim").steps(steps).guidance(3.0).seed(row);
    }

    private static Dataset<Row> frame(SparkSession spark, int rows, int partitions) {
        List<Row> in = new ArrayList<>();
        for (int i = 0; i < rows; i++) in.add(RowFactory.create(i, "a handwritten " + DIGITS[i % 10], (long) i));
        StructType schema = new StructType().add("id", DataTypes.IntegerType, false)
                .add("prompt", DataTypes.StringType, false).add("seed", DataTypes.LongType, false);
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        return spark.createDataFrame(jsc.parallelize(in, partitions), schema);
    }

    private static void collect(Dataset<Row> out, int rows) {
        List<Row> got = out.select("image", "error").collectAsList();
        for (Row r : got) {
            if (r.isNullAt(0)) throw new IllegalStateException("a row failed: " + r.getString(1));
        }
        if (got.size() != rows) throw new IllegalStateException("expected " + rows + " rows, got " + got.size());
    }

    static {
        // the same quiet logging as the module's tests
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
    }
}
