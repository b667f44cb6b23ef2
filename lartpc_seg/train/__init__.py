"""Training of the U-ResNet: data, loss with class weights, checkpoints, the loop."""
