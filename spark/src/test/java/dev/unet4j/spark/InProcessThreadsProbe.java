package dev.unet4j.spark;

import dev.unet4j.core.kernels.dnnl.IntraOpThreads;
import dev.unet4j.core.testing.NativeThreads;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;
import org.apache.spark.sql.types.StructType;

import java.util.Base64;
import java.util.Iterator;
import java.util.List;

/**
 * Run by {@link InProcessThreadsTest} in a Java 22+ child JVM started with {@code -Dspark.task.cpus=N
 * -Dspark.executor.cores=C} and {@code OMP_NUM_THREADS=1}: the executor side of the transformer
 * ({@link PartitionGenerator}, no Spark session; the settings come from the {@code spark.*} properties as an executor's
 * would from its SparkConf) over the rows {@code ID:PROMPT:SEED} given after the model folder. Prints each row's
 * settings and PNG, then the compute pool, the OpenMP thread count of its thread after the generations, that
 * thread's OpenMP team (native threads carrying its name) and the main thread's count.
 */
public final class InProcessThreadsProbe {
    private InProcessThreadsProbe() {
    }

    public static void main(String[] args) throws Exception {
        String model = args[0];
        int mainBefore = IntraOpThreads.currentThreadMax();
        GeneratorSettings s = new GeneratorSettings(model, "ddim", Unet4jGeneratorTest.STEPS, Unet4jGeneratorTest.GUIDANCE,
                null, null, 0.8, -1, 8, false);
        Row[] in = new Row[args.length - 1];
        for (int i = 1; i < args.length; i++) {
            String[] f = args[i].split(":");
            in[i - 1] = new GenericRowWithSchema(new Object[]{Integer.parseInt(f[0]), f[1], null, Long.parseLong(f[2])}, Unet4jGeneratorTest.REQUESTS);
        }
        Iterator<Row> out = new PartitionGenerator(s, Unet4jGeneratorTest.REQUESTS).call(List.of(in).iterator());
        StructType schema = new Unet4jGenerator().transformSchema(Unet4jGeneratorTest.REQUESTS); // the output rows' columns
        while (out.hasNext()) {
            Row r = out.next();
            byte[] png = (byte[]) r.get(schema.fieldIndex("image"));
            System.out.println("row=" + r.get(schema.fieldIndex("id")) + " error=" + r.get(schema.fieldIndex("error"))
                    + " settings=" + r.get(schema.fieldIndex("settings")) + " png=" + (png == null ? "-" : Base64.getEncoder().encodeToString(png)));
        }
        ComputePool pool = ExecutorModels.computePool(s.key()).orElseThrow();
        String onPool = pool.call(() -> "max=" + IntraOpThreads.currentThreadMax() + " team="
                + NativeThreads.named(Thread.currentThread().getName()), () -> false);
        System.out.println("pool=" + pool.size() + " computing=" + String.join(",", ExecutorModels.computingThreads(s.key()))
                + " " + onPool + " main=" + IntraOpThreads.currentThreadMax() + " mainBefore=" + mainBefore);
    }
}
