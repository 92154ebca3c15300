package dev.unet4j.core.checkpoint;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The one rule every module's config values go through (UNet, VAE, text encoder, scheduler, zoo configs): integers
 * are JSON integers in int range, floats are finite. The table is the spec: each bad value with the exact message a
 * user sees, naming the file and the key.
 */
class ConfigRangeRuleTest {
    private static final String FILE = "unet/config.json";

    private record Row(String json, Function<DiffusersConfig, Object> read, String message) {
    }

    private static final List<Row> BAD = List.of(
            new Row("4294967297", c -> c.getInt("k", 0), "config unet/config.json: key 'k' = 4294967297 is out of int range"),
            new Row("2147483648", c -> c.getInt("k", 0), "config unet/config.json: key 'k' = 2147483648 is out of int range"),
            new Row("-2147483649", c -> c.getIntOrNull("k", null), "config unet/config.json: key 'k' = -2147483649 is out of int range"),
            new Row("9223372036854775808", c -> c.getInt("k", 0), "config unet/config.json: key 'k' = 9223372036854775808 is out of int range"),
            new Row("3.0", c -> c.getInt("k", 0), "config unet/config.json: key 'k' is a floating-point number 3.0, expected an integer"),
            new Row("\"3\"", c -> c.getInt("k", 0), "config unet/config.json: key 'k' is a string \"3\", expected an integer"),
            new Row("[32, 4294967360]", c -> c.getIntList("k", List.of()), "config unet/config.json: key 'k' = 4294967360 is out of int range"),
            new Row("[32, 4294967360, 64]", c -> c.getIntPerBlockOrNull("k", 8, 3), "config unet/config.json: key 'k' = 4294967360 is out of int range"),
            new Row("[[1, 4294967297], 2]", c -> c.getNestedIntPerBlockOrNull("k", 1, 2), "config unet/config.json: key 'k' = 4294967297 is out of int range"),
            new Row("[8, 8]", c -> c.getIntPerBlockOrNull("k", 8, 3), "config unet/config.json: key 'k' is a list [8,8], expected an integer or a list of 3 integers"),
            new Row("1e400", c -> c.getDouble("k", 0), "config unet/config.json: key 'k' = Infinity is not a finite number"),
            new Row("-1e400", c -> c.getDoubleOrNull("k", null), "config unet/config.json: key 'k' = -Infinity is not a finite number"),
            new Row("NaN", c -> c.getDouble("k", 0), "config unet/config.json: key 'k' = NaN is not a finite number"),
            new Row("Infinity", c -> c.getDouble("k", 0), "config unet/config.json: key 'k' = Infinity is not a finite number"),
            new Row("[0.1, NaN]", c -> c.getDoubleList("k", List.of()), "config unet/config.json: key 'k' = NaN is not a finite number"),
            new Row("NaN", c -> c.getUnboundedDoubleOrNull("k", null), "config unet/config.json: key 'k' = NaN is not a finite number"),
            new Row("true", c -> c.getDouble("k", 0), "config unet/config.json: key 'k' is a boolean true, expected a number"));

    @Test
    void everyBadValueGetsItsExactMessage() throws ModelException {
        for (Row r : BAD) {
            DiffusersConfig c = DiffusersConfig.parse("{\"k\": " + r.json() + "}", FILE);
            ConfigException e = assertThrows(ConfigException.class, () -> r.read().apply(c), r.json());
            assertEquals(r.message(), e.getMessage(), r.json());
        }
    }

    @Test
    void theEdgesOfTheRangesAreAccepted() throws ModelException {
        DiffusersConfig c = DiffusersConfig.parse("{\"max\": 2147483647, \"min\": -2147483648, \"big\": 1.7e308, "
                + "\"tiny\": 4.9e-324, \"inf\": -Infinity, \"int_as_float\": 2}", FILE);
        assertEquals(Integer.MAX_VALUE, c.getInt("max", 0));
        assertEquals(Integer.MIN_VALUE, c.getInt("min", 0));
        assertEquals(1.7e308, c.getDouble("big", 0));
        assertEquals(Double.MIN_VALUE, c.getDouble("tiny", 0));
        assertEquals(2.0, c.getDouble("int_as_float", 0));
        // a bound where Python's float('inf') means "none" (DPM-Solver's lambda_min_clipped)
        assertEquals(Double.NEGATIVE_INFINITY, c.getUnboundedDoubleOrNull("inf", null));
        assertEquals(List.of(7, 7, 7), c.getIntPerBlockOrNull("absent", 7, 3));
    }
}
