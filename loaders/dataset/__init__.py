"""The dataset layer: the layout on disk, pairing by name, validation, synthetic data
and the converted files strategies read from. No TensorFlow here."""
