"""The data stage: bundled sets, generators and files (CSV / npz / svmlight), the protocol's
splits and the preprocessing fitted on the training part. Imports only `spec_lang` and
`runtime.types` / `runtime.errors`."""
