package dev.unet4j.core.io;

import java.util.Optional;

/**
 * Element types of the safetensors format, under their safetensors names.
 *
 * <p>Declared in the safetensors reference implementation's order (increasing alignment), which the reference
 * writer uses to order tensors (descending); {@link SafetensorsWriter.Order#SAFETENSORS} relies on it.
 */
public enum DType {
    BOOL(1, Kind.BOOL),
    U8(1, Kind.UNSIGNED),
    I8(1, Kind.SIGNED),
    F8_E5M2(1, Kind.FLOAT),
    F8_E4M3(1, Kind.FLOAT),
    I16(2, Kind.SIGNED),
    U16(2, Kind.UNSIGNED),
    F16(2, Kind.FLOAT),
    BF16(2, Kind.FLOAT),
    I32(4, Kind.SIGNED),
    U32(4, Kind.UNSIGNED),
    F32(4, Kind.FLOAT),
    F64(8, Kind.FLOAT),
    I64(8, Kind.SIGNED),
    U64(8, Kind.UNSIGNED);

    private enum Kind { BOOL, SIGNED, UNSIGNED, FLOAT }

    private final int byteSize;
    private final Kind kind;

    DType(int byteSize, Kind kind) {
        this.byteSize = byteSize;
        this.kind = kind;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Floating-point types (F8 to F64). */
    public boolean isFloatingPoint() {
        return kind == Kind.FLOAT;
    }

    /** Integer and boolean types, readable with {@link SafetensorsFile#readLongs}. */
    public boolean isInteger() {
        return kind != Kind.FLOAT;
    }

    /** Unsigned integer types (U8..U64). */
    public boolean isUnsigned() {
        return kind == Kind.UNSIGNED;
    }

    /**
     * Whether {@link SafetensorsFile#load} can decode this type to float32. True for every type here: floats are
     * converted exactly (F64 rounds to nearest), integers as by a Java {@code (float)} cast.
     */
    public boolean isDecodableToFloat() {
        return true;
    }

    /** The safetensors name ({@code "F32"}, {@code "F8_E4M3"}, ...). */
    public String safetensorsName() {
        return name();
    }

    /** The type with this safetensors name, if any (exact, case-sensitive, as the format requires). */
    public static Optional<DType> fromSafetensorsName(String name) {
        for (DType d : values()) {
            if (d.name().equals(name)) return Optional.of(d);
        }
        return Optional.empty();
    }
}
