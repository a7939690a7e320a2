"""Representation alignment: features from language and vision models, mutual k-NN and its companion
metrics, and the analyses of the alignment study (seed 001). Import the submodules directly; this
package imports nothing heavy itself."""
