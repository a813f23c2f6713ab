// points.frag: an antialiased disc with a thin darker rim.
// uniforms: u_rim (vec4: rim colour, alpha = strength), u_px (framebuffer pixels per canvas pixel:
//           the rim is a canvas pixel wide, so a sprite drawn smaller keeps its look)
// varyings: v_color, v_size (diameter px; the sprite is v_size + 2 px wide)
uniform vec4 u_rim;
uniform float u_px;
varying vec4 v_color;
varying float v_size;

void main() {
    float r = length(gl_PointCoord - 0.5) * (v_size + 2.0);
    float R = 0.5 * v_size;
    float a = 1.0 - smoothstep(R - 0.5, R + 0.5, r);
    if (a <= 0.0) discard;
    float rim = smoothstep(R - 1.6 * u_px, R - 0.6 * u_px, r) * u_rim.a;
    gl_FragColor = vec4(mix(v_color.rgb, u_rim.rgb, rim), v_color.a * a);
}
