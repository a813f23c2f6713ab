// outline.frag: one colour.
// uniforms: u_color (vec4)
uniform vec4 u_color;

void main() {
    gl_FragColor = u_color;
}
