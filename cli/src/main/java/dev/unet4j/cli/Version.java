package dev.unet4j.cli;

import picocli.CommandLine.IVersionProvider;

/** The version from the jar manifest (unknown when run from classes). */
final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Version.class.getPackage().getImplementationVersion();
        return new String[] {"unet4j " + (v == null ? "(development build)" : v) + ", Java " + System.getProperty("java.version")};
    }
}
